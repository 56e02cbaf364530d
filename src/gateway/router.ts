// Which replica of a group takes a request (the policies of SGLang's and vLLM's routers):
// - cache_aware: the replica whose prefix tree matches the longest part of the prompt, when that
//   part is above the threshold; else the least loaded. A replica that was probed (a lavash
//   replica's POST /v1/cache/match, see cache-probe.ts) counts with its exact cached share instead. Once the busiest replica has more than
//   balanceAbsThreshold and balanceRelThreshold× the requests of the idlest, pure load balancing.
// - least_loaded: fewest outstanding requests per unit of weight.
// - round_robin: smooth weighted round robin (nginx's).
// A session (the request's `user` or its x-session-id header) stays on its replica while that
// replica is available, whatever the policy.
import type { ReplicaConfig, RoutingOptions } from "./config.js";
import { PrefixTree } from "./prefix-tree.js";
import type { ReplicaHealth } from "./replica-health.js";

export interface Replica {
  readonly config: ReplicaConfig;
  readonly health: ReplicaHealth;
  readonly tree: PrefixTree;
  /** Requests sent and not yet finished. */
  inFlight: number;
}

/** Per replica probed for this request: the share of the prompt its KV cache holds (exact). */
export type ProbedRatios = ReadonlyMap<Replica, number>;

export interface RouteChoice {
  replica: Replica;
  /** The share of the prompt the chosen replica held, before this request: probed, else its tree's match. */
  matchRatio: number;
  reason: "affinity" | "cache" | "balance" | "load" | "round_robin";
}

/** Sessions remembered per group; the least recently used are forgotten past it. */
const MAX_SESSIONS = 10_000;

export class Router {
  private readonly sessions = new Map<string, Replica>();
  private readonly current = new Map<Replica, number>();
  private readonly lastPicked = new Map<Replica, number>();
  private picks = 0;

  constructor(
    readonly replicas: readonly Replica[],
    private readonly options: RoutingOptions,
  ) {}

  /**
   * Picks a replica for `text` among those available and not in `exclude` (tried already), and
   * records the prompt in its tree; null when none is left.
   */
  choose(
    text: string,
    session: string | null,
    exclude: ReadonlySet<Replica> = new Set(),
    probed: ProbedRatios = new Map(),
  ): RouteChoice | null {
    const candidates = this.candidates(exclude);
    if (candidates.length === 0) return null;
    let choice: RouteChoice | null = null;
    const ratio = (r: Replica): number => probed.get(r) ?? treeRatio(r, text);
    const pinned = session === null ? undefined : this.sessions.get(session);
    if (pinned !== undefined && candidates.includes(pinned))
      choice = { replica: pinned, matchRatio: ratio(pinned), reason: "affinity" };
    else if (this.options.policy === "round_robin") {
      const replica = this.roundRobin(candidates);
      choice = { replica, matchRatio: ratio(replica), reason: "round_robin" };
    } else if (this.options.policy === "least_loaded") {
      const replica = this.leastLoaded(candidates);
      choice = { replica, matchRatio: ratio(replica), reason: "load" };
    } else choice = this.cacheAware(candidates, ratio);
    this.lastPicked.set(choice.replica, ++this.picks);
    if (session !== null) {
      this.sessions.delete(session);
      this.sessions.set(session, choice.replica);
      if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    }
    if (text.length > 0) choice.replica.tree.insert(text);
    return choice;
  }

  /**
   * The replicas worth probing before choose() with the same arguments: the cache_aware
   * candidates with cacheProbe, when the prompt's share decides (not a session's replica, not
   * pure load balancing) and there is more than one candidate; else none.
   */
  probeTargets(session: string | null, exclude: ReadonlySet<Replica> = new Set()): Replica[] {
    if (this.options.policy !== "cache_aware") return [];
    const candidates = this.candidates(exclude);
    if (candidates.length < 2 || !candidates.some((r) => r.config.cacheProbe) || this.unbalanced(candidates)) return [];
    const pinned = session === null ? undefined : this.sessions.get(session);
    if (pinned !== undefined && candidates.includes(pinned)) return [];
    return candidates.filter((r) => r.config.cacheProbe);
  }

  private candidates(exclude: ReadonlySet<Replica>): Replica[] {
    return this.replicas.filter((r) => !exclude.has(r) && r.health.available());
  }

  /** The busiest candidate is past both balance limits: load balancing wins whatever the caches hold. */
  private unbalanced(candidates: Replica[]): boolean {
    const loads = candidates.map((r) => r.inFlight);
    const max = Math.max(...loads);
    const min = Math.min(...loads);
    const { balanceAbsThreshold, balanceRelThreshold } = this.options;
    return max - min > balanceAbsThreshold && max > min * balanceRelThreshold;
  }

  private cacheAware(candidates: Replica[], ratio: (r: Replica) => number): RouteChoice {
    if (this.unbalanced(candidates)) {
      const replica = this.leastLoaded(candidates);
      return { replica, matchRatio: ratio(replica), reason: "balance" };
    }
    let best = candidates[0]!;
    let bestRatio = -1;
    for (const r of candidates) {
      const m = ratio(r);
      if (m > bestRatio || (m === bestRatio && load(r) < load(best))) {
        best = r;
        bestRatio = m;
      }
    }
    if (bestRatio > this.options.cacheThreshold) return { replica: best, matchRatio: bestRatio, reason: "cache" };
    const replica = this.leastLoaded(candidates);
    return { replica, matchRatio: ratio(replica), reason: "load" };
  }

  /** Fewest requests per unit of weight; ties go to the one picked longest ago. */
  private leastLoaded(candidates: Replica[]): Replica {
    let best = candidates[0]!;
    for (const r of candidates.slice(1)) {
      const d = load(r) - load(best);
      if (d < 0 || (d === 0 && (this.lastPicked.get(r) ?? 0) < (this.lastPicked.get(best) ?? 0))) best = r;
    }
    return best;
  }

  private roundRobin(candidates: Replica[]): Replica {
    let total = 0;
    let best = candidates[0]!;
    for (const r of candidates) {
      const w = r.config.weight;
      total += w;
      const c = (this.current.get(r) ?? 0) + w;
      this.current.set(r, c);
      if (c > (this.current.get(best) ?? 0)) best = r;
    }
    this.current.set(best, (this.current.get(best) ?? 0) - total);
    return best;
  }
}

/** A prefix tree sized for the options. */
export function newTree(options: RoutingOptions): PrefixTree {
  return new PrefixTree(options.maxTreeChars);
}

function load(r: Replica): number {
  return r.inFlight / r.config.weight;
}

function treeRatio(r: Replica, text: string): number {
  return text.length === 0 ? 0 : r.tree.match(text) / text.length;
}
