// Never settles: the call timeout must turn this into an error, not a hang or a pass.
export function probe(): Promise<string> {
  return new Promise(() => {});
}
