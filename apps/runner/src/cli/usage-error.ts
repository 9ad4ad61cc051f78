/** Bad input from the person at the terminal (unknown lab, bad flag, invalid lab folder): message and exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
