import { redirect } from "next/navigation";
import { userIfKnown } from "@/lib/server/session";

export default async function Home() {
  redirect((await userIfKnown()) ? "/tasks" : "/sign-in");
}
