// The gateway scenario's workload (issue #15): tenants, each with its own long system prompt, each
// holding several multi-turn conversations whose every turn sends the whole history back (the
// previous answers included). Pure and deterministic: the same settings give the same prompts,
// user turns, seeds and order, so every routing policy and the single-replica reference are
// driven by the same requests (only the answers, sent back in later turns, come from the model).
import { syntheticText, userTurn } from "./prompts.js";
import type { SseEvent } from "./sse.js";

export interface GatewayWorkload {
  tenants: number;
  conversationsPerTenant: number;
  /** Requests per conversation, one after another (turn n+1 carries turns 1..n and their answers). */
  turns: number;
  /** Tokens of each tenant's system prompt (exact with Qwen's vocabulary, see prompts.ts). */
  systemTokens: number;
  /** max_tokens of every request: the answer that the next turn sends back. */
  maxTokens: number;
  seed: number;
}

export interface Conversation {
  tenant: number;
  /** Index of the conversation within its tenant. */
  conversation: number;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A tenant's system prompt: `systemTokens` tokens of word salad from a seed of its own. */
export function tenantSystemPrompt(w: GatewayWorkload, tenant: number): string {
  return syntheticText(w.systemTokens, w.seed + 7919 * (tenant + 1));
}

/** The user message of one turn: different in every conversation and turn (a couple of dozen tokens). */
export function userMessage(c: Conversation, turn: number): string {
  return `Customer ${c.conversation + 1}, message ${turn + 1}. ${userTurn(c.tenant * 7 + c.conversation * 3 + turn)}`;
}

/** The seed of one request, unique over the run for up to 1,000 conversations per tenant and 100 turns. */
export function requestSeed(w: GatewayWorkload, c: Conversation, turn: number): number {
  return w.seed + c.tenant * 100_000 + c.conversation * 100 + turn;
}

/**
 * Every conversation in the order they open: the first conversation of every tenant, then the
 * second of every tenant, and so on, so tenants are interleaved and a tenant's later
 * conversations start after its first.
 */
export function conversationPlan(w: GatewayWorkload): Conversation[] {
  const plan: Conversation[] = [];
  for (let conversation = 0; conversation < w.conversationsPerTenant; conversation++)
    for (let tenant = 0; tenant < w.tenants; tenant++) plan.push({ tenant, conversation });
  return plan;
}

export function totalRequests(w: GatewayWorkload): number {
  return w.tenants * w.conversationsPerTenant * w.turns;
}

/** One conversation's next turn, with the answers of its earlier turns. */
export interface PendingTurn {
  conversation: Conversation;
  turn: number;
  answers: readonly string[];
}

/**
 * The order turns are sent in. Interleaved (the default): every conversation is open from the
 * start, in plan order, and a conversation whose turn was answered goes to the back of the queue
 * with its next turn; so, as with many users who read an answer before they write again, a
 * conversation's next turn comes after the other waiting conversations' turns. Closed loop: the
 * next turn goes to the front, so the worker that sent a turn sends the next one as soon as the
 * answer ended (each worker runs one conversation at a time); then the replica that has just
 * answered is also the one that has just become the least loaded, which gives least_loaded an
 * affinity that real traffic does not have, and the replica's cache still holds the
 * conversation's state however many other tenants it serves.
 */
export class TurnQueue {
  private readonly waiting: PendingTurn[];

  constructor(
    private readonly w: GatewayWorkload,
    private readonly closedLoop = false,
  ) {
    this.waiting = conversationPlan(w).map((conversation) => ({ conversation, turn: 0, answers: [] }));
  }

  /** The next turn to send, or null when every open conversation's turn is in flight or all are done. */
  take(): PendingTurn | null {
    return this.waiting.shift() ?? null;
  }

  /** `taken` was answered with `answer`: its conversation's next turn joins the queue. */
  answered(taken: PendingTurn, answer: string): void {
    if (taken.turn + 1 >= this.w.turns) return;
    const next = { conversation: taken.conversation, turn: taken.turn + 1, answers: [...taken.answers, answer] };
    if (this.closedLoop) this.waiting.unshift(next);
    else this.waiting.push(next);
  }
}

/** The messages of turn `turn`: the system prompt, then each earlier turn and its answer, then the new user message. */
export function turnMessages(
  w: GatewayWorkload,
  c: Conversation,
  turn: number,
  answers: readonly string[],
): ChatMessage[] {
  if (answers.length < turn) throw new Error(`turn ${turn} needs the ${turn} earlier answers, got ${answers.length}`);
  const messages: ChatMessage[] = [{ role: "system", content: tenantSystemPrompt(w, c.tenant) }];
  for (let t = 0; t < turn; t++)
    messages.push({ role: "user", content: userMessage(c, t) }, { role: "assistant", content: answers[t]! });
  messages.push({ role: "user", content: userMessage(c, turn) });
  return messages;
}

/**
 * The context each sequence of a replica needs for the last turn: the system prompt, every turn's
 * user message (~32 tokens with the chat template's markers) and answer (`maxTokens` + 2), the new
 * answer, and a margin. An estimate: the scenario checks it against --ctx-size before starting.
 */
export function contextNeeded(w: GatewayWorkload): number {
  return w.systemTokens + w.turns * 32 + (w.turns - 1) * (w.maxTokens + 2) + w.maxTokens + 64;
}

/** The text a streamed chat completion generated (choices[0].delta.content of its events). */
export function streamedText(events: readonly SseEvent[]): string {
  let text = "";
  for (const event of events) {
    if (event.data === "[DONE]") continue;
    try {
      const chunk = JSON.parse(event.data) as { choices?: { index?: number; delta?: { content?: unknown } }[] };
      for (const choice of chunk.choices ?? [])
        if ((choice.index ?? 0) === 0 && typeof choice.delta?.content === "string") text += choice.delta.content;
    } catch {
      // not JSON: the timing analysis reports it
    }
  }
  return text;
}
