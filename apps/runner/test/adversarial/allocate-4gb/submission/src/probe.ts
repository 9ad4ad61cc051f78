// Holds on to 4 GB; the container's memory limit (memory = memory + swap) must end it.
const held: Buffer[] = [];

export function probe(): Promise<string> {
  for (let i = 0; i < 64; i++) held.push(Buffer.alloc(64 * 1024 * 1024, 1));
  return Promise.resolve(`held ${held.length * 64} MB`);
}
