import type { Metadata } from "next";
import { AuthPage } from "../../components/account/auth-form.tsx";

export const metadata: Metadata = { title: "Sign up" };

export default function SignUpPage() {
  return <AuthPage mode="sign-up" />;
}
