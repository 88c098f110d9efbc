// Groups imported results into store batches: one batch holds results of one
// UTC hour (the store's raw partitions are hourly), of any number of
// vantages, up to a few thousand. A batch's writer id is a digest of its
// lines, and which lines share a batch depends only on the file's content and
// order, so importing the same file again writes the same items under the
// same keys. Batches never span files: a file imported alone or with others
// is batched the same way.
import { createHash } from "node:crypto";
import type { StoredResult } from "@popwatch/store";
import type { ImportedResult } from "./judge";

/** Where a result came from, for FILE:LINE messages. */
export interface Origin {
  file: string;
  line: number;
}

export interface BatchEntry {
  result: ImportedResult;
  /** Identical content, identical digest: counted once per batch. */
  digest: string;
  origin: Origin;
}

export interface ImportBatch {
  /** Digest of the batch's lines (writer ids must match VANTAGE_NAME_PATTERN after the store's `import-` prefix). */
  writer: string;
  invocationId: string;
  results: StoredResult[];
  /** entries[i] is what results[i] was made from (and where it came from). */
  entries: readonly BatchEntry[];
}

export interface BatcherOptions {
  /** Results per batch at most. */
  maxBatch: number;
  /** Results held in open batches at most (memory bound): past it the fullest batch goes. */
  maxBuffered: number;
}

export const DEFAULT_BATCHER_OPTIONS: BatcherOptions = { maxBatch: 4000, maxBuffered: 40_000 };

/** A writer id is this many hex digits: `import-` plus it stays within the 32 characters of a vantage name. */
const WRITER_DIGITS = 24;

class OpenBatch {
  readonly entries: BatchEntry[] = [];
  readonly digests = new Set<string>();
  readonly hash = createHash("sha256");

  constructor(readonly hour: string) {
    this.hash.update(hour);
  }
}

export class Batcher {
  private readonly open = new Map<string, OpenBatch>();
  private buffered = 0;

  constructor(
    private readonly emit: (batch: ImportBatch) => Promise<void>,
    /** Counts lines whose content repeated an earlier line of the same batch. */
    private readonly counts: { repeated: number },
    private readonly options: BatcherOptions = DEFAULT_BATCHER_OPTIONS,
  ) {}

  /** Adds a result; resolves once any batch it completed has been handed on (backpressure). */
  async add(entry: BatchEntry): Promise<void> {
    const hour = entry.result.slotAt!.slice(0, 13);
    let batch = this.open.get(hour);
    if (batch === undefined) {
      batch = new OpenBatch(hour);
      this.open.set(hour, batch);
    }
    if (batch.digests.has(entry.digest)) {
      this.counts.repeated++;
      return;
    }
    batch.digests.add(entry.digest);
    batch.hash.update(entry.digest);
    batch.entries.push(entry);
    this.buffered++;
    if (batch.entries.length >= this.options.maxBatch) await this.close(batch);
    else if (this.buffered > this.options.maxBuffered) await this.close(this.fullest());
  }

  /** Hands on every open batch, earliest hour first (the end of a file). */
  async flush(): Promise<void> {
    for (const batch of [...this.open.values()].sort((a, b) => (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : 0))) {
      await this.close(batch);
    }
  }

  private fullest(): OpenBatch {
    let fullest: OpenBatch | undefined;
    for (const batch of this.open.values()) {
      if (fullest === undefined || batch.entries.length > fullest.entries.length) fullest = batch;
    }
    return fullest!;
  }

  private async close(batch: OpenBatch): Promise<void> {
    this.open.delete(batch.hour);
    this.buffered -= batch.entries.length;
    await this.emit(sealBatch(batch.hash.digest("hex"), batch.entries));
  }
}

/** A batch of one entry, keyed by that entry alone: how a batch the store refused is retried line by line. */
export function singleEntryBatch(entry: BatchEntry): ImportBatch {
  return sealBatch(createHash("sha256").update(`line#${entry.digest}`).digest("hex"), [entry]);
}

/**
 * The batch as the store takes it. seq numbers results that share a slot
 * (the store keys a batch's results by slot and seq), in line order, so the
 * same lines get the same numbers on every import.
 */
export function sealBatch(digest: string, entries: readonly BatchEntry[]): ImportBatch {
  const perSlot = new Map<string, number>();
  const results = entries.map(({ result }) => {
    const seq = perSlot.get(result.slotAt!) ?? 0;
    perSlot.set(result.slotAt!, seq + 1);
    return { ...result, seq } as StoredResult;
  });
  return {
    writer: digest.slice(0, WRITER_DIGITS),
    invocationId: `import#${digest.slice(0, 32)}`,
    results,
    entries,
  };
}
