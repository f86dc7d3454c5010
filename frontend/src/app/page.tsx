import { redirect } from "next/navigation";
import { currentUser } from "@/lib/server/session";

export default async function Home() {
  redirect((await currentUser()) ? "/tasks" : "/sign-in");
}
