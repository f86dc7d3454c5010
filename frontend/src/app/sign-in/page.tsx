import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "@/components/AuthForm";
import { userIfKnown } from "@/lib/server/session";

export const metadata: Metadata = { title: "Sign in · Todo AI Chatbot" };

export default async function SignInPage() {
  if (await userIfKnown()) redirect("/tasks");
  return <AuthForm mode="sign-in" />;
}
