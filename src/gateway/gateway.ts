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

export class Gateway {
  private readonly groups = new Map<string, UpstreamGroup>();
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
