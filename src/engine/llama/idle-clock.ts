/**
 * When each model was last busy, for keep-alive: a model is idle once nothing has run or waited on
 * it for longer than the keep-alive. The clock counts from the end of the last work, as Ollama's
 * `keep_alive` does, not from the last request's arrival: a request that runs longer than the
 * keep-alive must not leave its model to be unloaded the moment it ends.
 */
export class IdleClock {
  private readonly lastBusy = new Map<string, number>();

  constructor(private readonly keepAliveMs: number) {}

  /** The model was just loaded or asked for. */
  touch(id: string, now = Date.now()): void {
    this.lastBusy.set(id, now);
  }

  /** Called on every keep-alive tick with whether the model has work; true once it is idle past the keep-alive. */
  expired(id: string, busy: boolean, now = Date.now()): boolean {
    const last = this.lastBusy.get(id);
    if (busy || last === undefined) {
      this.lastBusy.set(id, now);
      return false;
    }
    return now - last > this.keepAliveMs;
  }
}
