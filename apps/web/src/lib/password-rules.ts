// The sign-up password rules, shown on the form before submit and enforced by the server: one source.

export const minimumPasswordLength = 10;
export const maximumPasswordLength = 200;

export const passwordRules =
  `At least ${minimumPasswordLength} characters, and hard to guess: not a common password, a keyboard ` +
  "pattern or your email. A few unrelated words make a strong one.";
