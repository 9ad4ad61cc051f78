/**
 * Runs `work` for every item, at most `jobs` at a time, taking items in list order (the first ones start
 * first). Resolves when all are done; a `work` that throws rejects it (the others still run to their end).
 */
export async function forEachInParallel<T>(
  items: readonly T[],
  jobs: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) await work(items[index]!, index);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}
