// A single-consumer queue between the scheduler loop (producer, never blocks) and one HTTP
// handler (consumer, awaits). The producer must not wait for a slow client: the loop advances
// every sequence together, so events are buffered instead.

export class EventChannel<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | null = null;
  private failWaiter: ((e: unknown) => void) | null = null;
  private ended = false;
  private error: unknown = undefined;
  private readonly onReturn: () => void;

  /** `onReturn` runs once when the consumer stops early (break/throw/return). */
  constructor(onReturn: () => void) {
    this.onReturn = onReturn;
  }

  push(value: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = this.failWaiter = null;
      w({ value, done: false });
    } else this.buffer.push(value);
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (this.waiter) {
      const w = this.waiter;
      const f = this.failWaiter;
      this.waiter = this.failWaiter = null;
      if (error !== undefined && f) f(error);
      else w({ value: undefined, done: true });
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.buffer.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.ended) {
      if (this.error !== undefined) {
        const e = this.error;
        this.error = undefined;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.ended) {
      this.ended = true;
      this.buffer.length = 0;
      this.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** A channel whose pushed values are rewritten on the way in (one value may become several). */
export class MappedEventChannel<T> extends EventChannel<T> {
  constructor(
    onReturn: () => void,
    private readonly map: (value: T) => T[],
  ) {
    super(onReturn);
  }

  override push(value: T): void {
    for (const v of this.map(value)) super.push(v);
  }
}
