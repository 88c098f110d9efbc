// The bounded hand-over between a socket (which pushes) and a consumer (which
// pulls at its own pace). Above `highWater` the producer is told to pause
// reading; below `lowWater` to resume. Items already in flight when it paused
// still fit up to `hardLimit`; past that they are dropped and counted, never
// silently.

export interface BoundedQueueOptions {
  highWater: number;
  lowWater: number;
  hardLimit: number;
  onPause: () => void;
  onResume: () => void;
}

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: ((result: IteratorResult<T>) => void) | null = null;
  private ended = false;
  private paused = false;
  /** Items refused because the queue was at its hard limit. */
  dropped = 0;
  /** The most items ever held at once (for tests and benchmarks). */
  peak = 0;

  constructor(private readonly options: BoundedQueueOptions) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Adds an item; false when it was dropped at the hard limit. */
  push(item: T): boolean {
    if (this.ended) return false;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter({ value: item, done: false });
      return true;
    }
    if (this.size >= this.options.hardLimit) {
      this.dropped++;
      return false;
    }
    this.items.push(item);
    if (this.size > this.peak) this.peak = this.size;
    if (!this.paused && this.size >= this.options.highWater) {
      this.paused = true;
      this.options.onPause();
    }
    return true;
  }

  /** No more items: the consumer drains what is queued, then sees the end. */
  end(): void {
    this.ended = true;
    if (this.waiter && this.size === 0) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const item = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      if (this.paused && this.size <= this.options.lowWater) {
        this.paused = false;
        this.options.onResume();
      }
      return Promise.resolve({ value: item, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
