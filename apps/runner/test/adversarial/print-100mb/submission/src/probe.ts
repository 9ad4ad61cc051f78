// 100 MB on stdout: the runner must keep a capped amount and say so, and stay healthy.
export async function probe(): Promise<string> {
  const line = `${"x".repeat(1023)}\n`.repeat(1024); // 1 MB
  for (let i = 0; i < 100; i++) {
    if (!process.stdout.write(line)) await new Promise((resolve) => process.stdout.once("drain", resolve));
  }
  return "no canary";
}
