// The gateway's series in the app's /metrics registry, per routed model and replica.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Gateway } from "./gateway.js";

export class GatewayMetrics {
  readonly requests: Counter<"model" | "replica" | "status">;
  readonly errors: Counter<"model" | "replica" | "kind">;
  readonly firstByte: Histogram<"model" | "replica">;
  readonly duration: Histogram<"model" | "replica">;
  readonly matchRatio: Histogram<"model" | "replica">;
  readonly probes: Counter<"model" | "replica">;
  readonly probeFailures: Counter<"model" | "replica" | "kind">;
  readonly probeSeconds: Histogram<"model" | "replica">;

  constructor(registry: Registry, gateway: Gateway) {
    const registers = [registry];
    const labelNames = ["model", "replica"] as const;
    this.requests = new Counter({
      name: "lavash_gateway_requests_total",
      help: "Attempts sent to an upstream replica, by the status it answered (0: no answer).",
      labelNames: [...labelNames, "status"],
      registers,
    });
    this.errors = new Counter({
      name: "lavash_gateway_errors_total",
      help: "Failed attempts on a replica: connect, timeout, status_429, status_5xx, stream (broke after the first byte).",
      labelNames: [...labelNames, "kind"],
      registers,
    });
    this.firstByte = new Histogram({
      name: "lavash_gateway_upstream_first_byte_seconds",
      help: "From sending to a replica to its response headers (non-streaming: its whole answer).",
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.duration = new Histogram({
      name: "lavash_gateway_upstream_seconds",
      help: "From sending to a replica to the end of its answer.",
      labelNames,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.matchRatio = new Histogram({
      name: "lavash_gateway_prefix_match_ratio",
      help: "Share of the prompt the chosen replica's prefix tree matched when it was routed there (the gateway's cache-hit estimate).",
      labelNames,
      buckets: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1],
      registers,
    });
    this.probes = new Counter({
      name: "lavash_gateway_cache_probes_total",
      help: "Cache probes (POST /v1/cache/match) sent to a lavash replica before routing.",
      labelNames,
      registers,
    });
    this.probeFailures = new Counter({
      name: "lavash_gateway_cache_probe_failures_total",
      help: "Cache probes that gave no answer in time (timeout) or no usable one (error): the prefix tree's estimate was used.",
      labelNames: [...labelNames, "kind"],
      registers,
    });
    this.probeSeconds = new Histogram({
      name: "lavash_gateway_cache_probe_seconds",
      help: "From sending a cache probe to its answer (answered probes).",
      labelNames,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5],
      registers,
    });
    const perReplica = (
      name: string,
      help: string,
      read: (r: Gateway["models"][number]["replicas"][number]) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          for (const g of gateway.models)
            for (const r of g.replicas) this.set({ model: g.config.id, replica: r.config.name }, read(r));
        },
      });
    perReplica("lavash_gateway_in_flight", "Requests sent to the replica and not finished.", (r) => r.inFlight);
    perReplica(
      "lavash_gateway_replica_ejected",
      "1 while the replica is ejected (or half-open, awaiting its trial), 0 when healthy.",
      (r) => (r.health.state === "healthy" ? 0 : 1),
    );
    perReplica("lavash_gateway_prefix_tree_chars", "Characters in the replica's prefix tree.", (r) => r.tree.size);
  }
}
