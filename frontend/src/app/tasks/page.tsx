import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { Workspace } from "@/components/Workspace";
import { currentUser } from "@/lib/server/session";

export const metadata: Metadata = { title: "Tasks · Todo AI Chatbot" };

export default async function TasksPage() {
  const user = await currentUser();
  if (!user) redirect("/sign-in");
  return <Workspace user={user} />;
}
