// Writes import batches to the store, a few in flight, each followed by the
// minute rollups of its own minutes. A batch the store refuses as invalid is
// written again line by line, so one line the store will not take (too large
// once compressed, say) is a bad line reported as FILE:LINE, not a lost batch.
// Any other store failure stops the import: what was written stays, and
// importing again completes the rest (the keys are the same).
import { MINUTE_MS } from "@popwatch/core";
import { type ResultStore, StoreError } from "@popwatch/store";
import { type ImportBatch, type Origin, singleEntryBatch } from "./batcher";
import type { ImportTally } from "./summary";

export interface BatchWriterOptions {
  /** Batches in flight. */
  concurrency: number;
  /** A line the store refused on its own. */
  onRefused(origin: Origin, message: string): void;
}

export class BatchWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: StoreError | null = null;

  constructor(
    private readonly store: ResultStore,
    private readonly tally: ImportTally,
    private readonly options: BatchWriterOptions,
  ) {}

  /** Starts writing a batch once a slot is free; rejects with the store failure that stopped the import, if any. */
  async submit(batch: ImportBatch): Promise<void> {
    while (this.inFlight.size >= this.options.concurrency && this.failure === null) await Promise.race(this.inFlight);
    if (this.failure !== null) throw this.failure;
    const task = this.write(batch).then(
      () => {
        this.inFlight.delete(task);
      },
      (err: unknown) => {
        this.inFlight.delete(task);
        if (!(err instanceof StoreError)) throw err;
        this.failure ??= err;
      },
    );
    this.inFlight.add(task);
  }

  /** Waits for every batch in flight; rejects with the first store failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure !== null) throw this.failure;
  }

  private async write(batch: ImportBatch): Promise<void> {
    try {
      await this.store.putResults({ writer: batch.writer, invocationId: batch.invocationId, results: batch.results });
      this.counted(batch);
    } catch (err) {
      if (!(err instanceof StoreError && err.code === "store_invalid")) throw err;
      const written: ImportBatch[] = [];
      for (const entry of batch.entries) {
        const single = singleEntryBatch(entry);
        try {
          await this.store.putResults({ writer: single.writer, invocationId: single.invocationId, results: single.results });
          this.counted(single);
          written.push(single);
        } catch (lineErr) {
          if (!(lineErr instanceof StoreError && lineErr.code === "store_invalid")) throw lineErr;
          this.options.onRefused(entry.origin, `the store refused the result: ${lineErr.message}`);
        }
      }
      for (const single of written) await this.rollUp(single);
      return;
    }
    await this.rollUp(batch);
  }

  private counted(batch: ImportBatch): void {
    this.tally.written += batch.results.length;
    for (const result of batch.results) {
      const ms = Date.parse(result.slotAt!);
      if (ms < this.tally.oldestMs) this.tally.oldestMs = ms;
    }
  }

  /** The minute rollups of the minutes the batch wrote (one UTC hour at most). */
  private async rollUp(batch: ImportBatch): Promise<void> {
    let fromMs = Number.POSITIVE_INFINITY;
    let toMs = Number.NEGATIVE_INFINITY;
    for (const result of batch.results) {
      const minuteMs = Math.floor(Date.parse(result.slotAt!) / MINUTE_MS) * MINUTE_MS;
      if (minuteMs < fromMs) fromMs = minuteMs;
      if (minuteMs + MINUTE_MS > toMs) toMs = minuteMs + MINUTE_MS;
    }
    const report = await this.store.rollUp({ writer: batch.writer, granularity: "minute", from: fromMs, to: toMs });
    this.tally.rollups += report.written.length;
  }
}
