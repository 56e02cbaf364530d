// The requests the server is working on, and the server's side of ending them: each request
// gets a signal that stops its generation when --request-timeout passes or a shutdown runs out of
// time (respond.ts reports the reason to the client), and a draining shutdown waits for the set
// to empty while new requests are refused.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { requestTimedOut, serviceUnavailable, toErrorBody, type ApiError } from "../endpoints/shared/errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Aborts, with the ApiError to answer, when the server stops this request. */
    stopSignal: AbortSignal;
  }
  interface FastifyInstance {
    inFlight: InFlight;
  }
}

// setTimeout fires at once for delays beyond 2^31-1 ms (about 24.8 days).
const longestTimerMs = 2 ** 31 - 1;

export class InFlight {
  private readonly running = new Set<AbortController>();
  private idleWaiters: (() => void)[] = [];
  private refusing = false;

  get size(): number {
    return this.running.size;
  }

  get draining(): boolean {
    return this.refusing;
  }

  /** From now on new requests get a 503. */
  drain(): void {
    this.refusing = true;
  }

  /** Stops every running request; each answers `error`. */
  stopAll(error: ApiError): void {
    for (const controller of this.running) controller.abort(error);
  }

  /** Resolves once no request is running. */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  add(controller: AbortController): () => void {
    this.running.add(controller);
    return () => {
      this.running.delete(controller);
      if (this.running.size > 0) return;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    };
  }
}

/** `timeoutSeconds` 0: no per-request limit. */
export function registerInFlight(app: FastifyInstance, timeoutSeconds: number): InFlight {
  const inFlight = new InFlight();
  app.decorate("inFlight", inFlight);
  app.decorateRequest("stopSignal", null as unknown as AbortSignal);
  app.addHook("onRequest", (request, reply, done) => {
    if (inFlight.draining) {
      const error = serviceUnavailable("The server is shutting down and takes no new requests; retry shortly.", 1);
      // Connection: close, so that keep-alive clients reconnect (to another instance, or fail fast).
      void reply
        .status(error.status)
        .headers({ ...error.headers, connection: "close" })
        .send(toErrorBody(error));
      return;
    }
    const controller = new AbortController();
    request.stopSignal = controller.signal;
    const timer =
      timeoutSeconds > 0
        ? setTimeout(
            () => controller.abort(requestTimedOut(timeoutSeconds)),
            Math.min(timeoutSeconds * 1000, longestTimerMs),
          )
        : undefined;
    const remove = inFlight.add(controller);
    reply.raw.once("close", () => {
      clearTimeout(timer);
      remove();
    });
    done();
  });
  return inFlight;
}

/** Throws the error to answer when the server stopped the request (timeout, shutdown). */
export function throwIfStopped(request: FastifyRequest): void {
  if (request.stopSignal.aborted) throw request.stopSignal.reason as ApiError;
}

/** Aborts `controller` when the server stops the request (at once if it already has). */
export function followStop(request: FastifyRequest, controller: AbortController): void {
  if (request.stopSignal.aborted) controller.abort();
  else request.stopSignal.addEventListener("abort", () => controller.abort(), { once: true });
}
