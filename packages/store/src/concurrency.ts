/**
 * Runs `task` over `items` with at most `limit` in flight; results keep input
 * order. Every task runs to completion even when some fail, so a caller can
 * report exactly what was and was not done.
 */
export async function mapSettledWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const settled: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      try {
        settled[index] = { status: "fulfilled", value: await task(items[index]!, index) };
      } catch (reason) {
        settled[index] = { status: "rejected", reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  return settled;
}

/** Like mapSettledWithConcurrency, but rejects with the first failure (by input order) once all tasks have settled. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const settled = await mapSettledWithConcurrency(items, limit, task);
  const values: R[] = [];
  for (const outcome of settled) {
    if (outcome.status === "rejected") throw outcome.reason;
    values.push(outcome.value);
  }
  return values;
}
