import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "@/components/AuthForm";
import { userIfKnown } from "@/lib/server/session";

export const metadata: Metadata = { title: "Create account · Todo AI Chatbot" };

export default async function SignUpPage() {
  if (await userIfKnown()) redirect("/tasks");
  return <AuthForm mode="sign-up" />;
}
