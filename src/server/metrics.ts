// Prometheus metrics for GET /metrics. Each app has its own Registry (tests run several servers
// in one process). Request and token counters are taken when a response closes; the engine's
// gauges are read from engine.status() at scrape time; token timings come from respond.ts
// through the request's TokenTimer.
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Engine, EngineStatus } from "../engine/types.js";

/** Told by respond.ts when a choice produced text; turns that into latency observations. */
export interface TokenTimer {
  text(choice: number): void;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Absent when metrics are off. */
    tokenTimer?: TokenTimer | null;
  }
}

export function registerMetrics(app: FastifyInstance, engine: Engine): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Counter({
    name: "lavash_http_requests_total",
    help: "HTTP requests answered, by route pattern and status (499: the client went away first).",
    labelNames: ["endpoint", "status"],
    registers,
  });
  const byModel = (name: string, help: string) => new Counter({ name, help, labelNames: ["model"], registers });
  const promptTokens = byModel(
    "lavash_prompt_tokens_total",
    "Prompt tokens of answered chat and legacy completions (usage.prompt_tokens).",
  );
  const completionTokens = byModel(
    "lavash_completion_tokens_total",
    "Generated tokens of answered chat and legacy completions (usage.completion_tokens).",
  );
  const cachedTokens = byModel(
    "lavash_prefix_cache_hit_tokens_total",
    "Prompt tokens reused from the prefix cache instead of evaluated (usage.prompt_tokens_details.cached_tokens).",
  );
  const ttft = new Histogram({
    name: "lavash_time_to_first_token_seconds",
    help: "From the request's arrival to its first generated text, queueing and prefill included.",
    labelNames: ["model"],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const itl = new Histogram({
    name: "lavash_inter_token_latency_seconds",
    help: "Between successive pieces of text of one choice (a piece is usually one token; text held back by a possible stop sequence or a partial UTF-8 character comes later as one piece).",
    labelNames: ["model"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5],
    registers,
  });

  const gauge = (name: string, help: string, read: (status: EngineStatus) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(engine.status()));
      },
    });
  const running = (s: EngineStatus) => s.sequences.filter((q) => q.state !== "idle");
  gauge("lavash_queue_depth", "Requests waiting for a free sequence.", (s) => s.queued);
  gauge("lavash_active_sequences", "Sequences prefilling or decoding.", (s) => running(s).length);
  gauge("lavash_sequences", "Sequences in all (--parallel per model).", (s) => s.sequences.length);
  gauge(
    "lavash_mean_sequences_per_decode",
    "Sequences advanced per decode that generated tokens, averaged since start.",
    ({ stats }) => (stats.decodeSteps === 0 ? 0 : stats.sequencesDecoded / stats.decodeSteps),
  );
  // The engine does not report KV cells; this counts the positions of running sequences
  // (prompt + generated) and leaves out what idle sequences keep for the prefix cache.
  gauge(
    "lavash_kv_cells_used",
    "KV cache positions held by running sequences (prompt + generated tokens; idle sequences' prefix-cache contents not counted).",
    (s) => running(s).reduce((n, q) => n + q.promptTokens + q.generatedTokens, 0),
  );

  app.decorateRequest("tokenTimer", null);
  app.addHook("onRequest", (request, reply, done) => {
    request.tokenTimer = tokenTimer(performance.now(), () => request.facts.model ?? "", ttft, itl);
    reply.raw.once("close", () => {
      // The route pattern keeps the label set bounded whatever URLs clients try.
      requests.inc({ endpoint: request.routeOptions.url ?? "unmatched", status: String(reply.raw.statusCode) });
      // respond.ts sets completionTokens only once a generation was answered in full; tokenize
      // and embeddings set promptTokens alone and are not counted.
      const { model, promptTokens: prompt, completionTokens: completion, cachedPromptTokens: cached } = request.facts;
      if (model === undefined || completion === undefined) return;
      promptTokens.inc({ model }, prompt ?? 0);
      completionTokens.inc({ model }, completion);
      cachedTokens.inc({ model }, cached ?? 0);
    });
    done();
  });
  return registry;
}

function tokenTimer(
  started: number,
  model: () => string,
  ttft: Histogram<"model">,
  itl: Histogram<"model">,
): TokenTimer {
  let first = true;
  const last = new Map<number, number>();
  return {
    text(choice) {
      const now = performance.now();
      if (first) {
        first = false;
        ttft.observe({ model: model() }, (now - started) / 1000);
      }
      const previous = last.get(choice);
      if (previous !== undefined) itl.observe({ model: model() }, (now - previous) / 1000);
      last.set(choice, now);
    },
  };
}

/** Per client key, by its name (never the key): requests on the model routes, their tokens, 429s. */
export class KeyUsageMetrics {
  readonly requests: Counter<"key">;
  readonly promptTokens: Counter<"key">;
  readonly completionTokens: Counter<"key">;
  readonly limited: Counter<"key" | "limit">;

  constructor(registry: Registry, names: readonly string[]) {
    const registers = [registry];
    this.requests = new Counter({
      name: "lavash_key_requests_total",
      help: "Requests a client key made on the model routes and that its limits admitted.",
      labelNames: ["key"],
      registers,
    });
    this.promptTokens = new Counter({
      name: "lavash_key_prompt_tokens_total",
      help: "Prompt tokens of a client key's answered requests (usage), local and upstream models.",
      labelNames: ["key"],
      registers,
    });
    this.completionTokens = new Counter({
      name: "lavash_key_completion_tokens_total",
      help: "Completion tokens of a client key's answered requests (usage), local and upstream models.",
      labelNames: ["key"],
      registers,
    });
    this.limited = new Counter({
      name: "lavash_key_rate_limited_total",
      help: "Requests of a client key refused with 429 by its limits, by the limit (requests or tokens).",
      labelNames: ["key", "limit"],
      registers,
    });
    // Every key shows from the start, at 0.
    for (const key of names) {
      this.requests.inc({ key }, 0);
      this.promptTokens.inc({ key }, 0);
      this.completionTokens.inc({ key }, 0);
    }
  }
}
