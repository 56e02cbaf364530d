// Whether a replica takes requests: healthy; ejected after `failureThreshold` consecutive failures
// (connect errors, timeouts, 5xx, failed health checks) for `cooldown`; then half-open, where one
// trial request (or a health check) decides: success re-admits, failure ejects again. A 429
// only throttles the replica until its Retry-After, it is not a failure.

export type HealthState = "healthy" | "ejected" | "half_open";

export interface HealthPolicy {
  failureThreshold: number;
  cooldownMs: number;
}

export class ReplicaHealth {
  private failures = 0;
  private ejectedUntil = 0;
  private ejected = false;
  private trialRunning = false;
  private throttledUntil = 0;

  constructor(
    private readonly policy: HealthPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): HealthState {
    if (!this.ejected) return "healthy";
    return this.now() >= this.ejectedUntil ? "half_open" : "ejected";
  }

  /** Consecutive failures so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** May a request be sent now? Half-open: only while no trial is running. */
  available(): boolean {
    if (this.now() < this.throttledUntil) return false;
    const state = this.state;
    return state === "healthy" || (state === "half_open" && !this.trialRunning);
  }

  /** A request is being sent; in half-open it is the trial. */
  begin(): void {
    if (this.state === "half_open") this.trialRunning = true;
  }

  success(): void {
    this.failures = 0;
    this.ejected = false;
    this.trialRunning = false;
  }

  failure(): void {
    this.failures += 1;
    const wasTrial = this.ejected;
    this.trialRunning = false;
    if (wasTrial || this.failures >= this.policy.failureThreshold) {
      this.ejected = true;
      this.ejectedUntil = this.now() + this.policy.cooldownMs;
    }
  }

  /** Neither success nor failure (the client went away, a 4xx): a running trial is released. */
  release(): void {
    this.trialRunning = false;
  }

  /** A 429: skipped until `retryAfterMs` from now. */
  throttle(retryAfterMs: number): void {
    this.throttledUntil = Math.max(this.throttledUntil, this.now() + retryAfterMs);
  }
}
