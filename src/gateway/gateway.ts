// The upstream models a server routes (src/gateway/config.ts): per model, its replicas with their
// health and prefix trees, the router, and the active health checks. Built once per server; the
// HTTP side is proxy-route.ts. Not an Engine: the gateway forwards requests on the wire.
import { checkFallbacks, type UpstreamModel } from "./config.js";
import { ReplicaHealth } from "./replica-health.js";
import { newTree, type Replica, Router } from "./router.js";
import { checkReplica } from "./upstream-client.js";

export interface UpstreamGroup {
  readonly config: UpstreamModel;
  readonly replicas: readonly Replica[];
  readonly router: Router;
}

export interface GatewayLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Response ids remembered (previous_response_id, GET/DELETE /v1/responses/{id}); the oldest go first. */
export const MAX_PINNED_RESPONSES = 100_000;

/** Where a stored response lives: the routed model that answered it and the replica's base_url. */
export interface ResponsePin {
  model: string;
  baseUrl: string;
}

export class Gateway {
  private readonly groups = new Map<string, UpstreamGroup>();
  private readonly pins = new Map<string, ResponsePin>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Unix seconds, the `created` of the routed models in /v1/models. */
  readonly created = Math.floor(Date.now() / 1000);

  /** `localIds`: the models this server loads itself (fallbacks may name them). */
  constructor(
    upstreams: readonly UpstreamModel[],
    localIds: readonly string[],
    private readonly logger: GatewayLogger = { info: () => undefined, warn: () => undefined },
  ) {
    checkFallbacks(upstreams, localIds);
    for (const config of upstreams) {
      const policy = {
        failureThreshold: config.health.failureThreshold,
        cooldownMs: config.health.cooldownSeconds * 1000,
      };
      const replicas: Replica[] = config.replicas.map((r) => ({
        config: r,
        health: new ReplicaHealth(policy),
        tree: newTree(config.routing),
        inFlight: 0,
      }));
      this.groups.set(config.id, { config, replicas, router: new Router(replicas, config.routing) });
    }
  }

  /** The upstream group serving `model`; undefined for a local (or unknown) model. */
  group(model: string): UpstreamGroup | undefined {
    return this.groups.get(model);
  }

  get models(): UpstreamGroup[] {
    return [...this.groups.values()];
  }

  /** Remembers that the replica `replica` of `model` produced (and may have stored) response `id`. */
  pinResponse(id: string, model: string, replica: Replica): void {
    this.pins.delete(id);
    this.pins.set(id, { model, baseUrl: replica.config.baseUrl });
    if (this.pins.size > MAX_PINNED_RESPONSES) this.pins.delete(this.pins.keys().next().value!);
  }

  /**
   * The replica holding response `id`: in `model`'s group when given (a replica with the pinned
   * base_url: one upstream may serve several routed models), else in the group that answered it.
   */
  pinnedResponse(id: string, model?: string): { group: UpstreamGroup; replica: Replica } | undefined {
    const pin = this.pins.get(id);
    if (pin === undefined) return undefined;
    const group = this.groups.get(model ?? pin.model);
    const replica = group?.replicas.find((r) => r.config.baseUrl === pin.baseUrl);
    return group && replica ? { group, replica } : undefined;
  }

  unpinResponse(id: string): void {
    this.pins.delete(id);
  }

  /** Starts the active health checks (each group on its own interval). */
  start(): void {
    for (const group of this.groups.values()) {
      const { intervalSeconds, endpoint, timeoutSeconds } = group.config.health;
      if (intervalSeconds <= 0) continue;
      const timer = setInterval(() => void this.check(group, endpoint, timeoutSeconds * 1000), intervalSeconds * 1000);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** One round of health checks over every replica of `group`. */
  async check(group: UpstreamGroup, endpoint: "health" | "models", timeoutMs: number): Promise<void> {
    await Promise.all(
      group.replicas.map(async (r) => {
        const wasOut = r.health.state !== "healthy";
        const ok = await checkReplica(r.config, endpoint, timeoutMs);
        if (ok) {
          r.health.success();
          if (wasOut) this.logger.info(`gateway: ${r.config.name} passes its health check again: re-admitted`);
        } else {
          r.health.failure();
          if (!wasOut && r.health.state !== "healthy")
            this.logger.warn(`gateway: ${r.config.name} failed its health checks: ejected`);
        }
      }),
    );
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }
}
