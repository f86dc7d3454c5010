import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "@/components/AuthForm";
import { currentUser } from "@/lib/server/session";

export const metadata: Metadata = { title: "Sign in · Todo AI Chatbot" };

export default async function SignInPage() {
  if (await currentUser()) redirect("/tasks");
  return <AuthForm mode="sign-in" />;
}
