// Generation requests on their way to the engine: connections just accepted that have not sent a
// request yet, and generation requests not yet at their handler. Requests sent together reach the
// engine one after another: each connection is accepted, read, its body parsed and validated and
// its prompt tokenized in turn (~1-2 ms each on the tiny model, 8 at once spread over ~13 ms,
// measured), so the first would start decoding alone and the rest would wait for that decode. The
// engine's scheduler asks how many are still on their way when it wakes from idle and waits for
// them (bounded: SchedulerOptions.arriving), as llama-server starts requests that arrive together
// in one decode.
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";

/** The routes whose requests end in a generation by the engine. */
const GENERATION_ROUTES = new Set(["/v1/chat/completions", "/v1/completions", "/v1/responses"]);

/** A request older than this is not waited for (one stuck in a hook, a missed ending). */
const FORGET_REQUEST_AFTER_MS = 1000;
/** A new connection silent for longer is not expected to bring a request now (a browser's preconnect). */
const FORGET_CONNECTION_AFTER_MS = 50;

export class Arrivals {
  private readonly reading = new Map<FastifyRequest, number>();
  private readonly connecting = new Map<Socket, number>();

  /** Connections not yet sending, and requests read but not yet at their handler (which hands them to the engine without waiting). */
  pending(): number {
    if (this.reading.size + this.connecting.size === 0) return 0;
    const now = performance.now();
    for (const [request, since] of this.reading)
      if (since < now - FORGET_REQUEST_AFTER_MS) this.reading.delete(request);
    for (const [socket, since] of this.connecting)
      if (since < now - FORGET_CONNECTION_AFTER_MS) this.connecting.delete(socket);
    return this.reading.size + this.connecting.size;
  }

  register(app: FastifyInstance): void {
    app.server.on("connection", (socket: Socket) => {
      this.connecting.set(socket, performance.now());
      socket.once("close", () => this.connecting.delete(socket));
    });
    app.addHook("onRequest", (request, _reply, done) => {
      this.connecting.delete(request.raw.socket);
      if (request.method === "POST" && GENERATION_ROUTES.has(request.routeOptions.url ?? ""))
        this.reading.set(request, performance.now());
      done();
    });
    const settled = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
      this.reading.delete(request);
      done();
    };
    // The handler runs right after preHandler; every other ending (a 4xx from a hook or the body
    // parser, a client gone) passes onResponse or onRequestAbort.
    app.addHook("preHandler", settled);
    app.addHook("onResponse", settled);
    app.addHook("onRequestAbort", (request, done) => {
      this.reading.delete(request);
      done();
    });
  }
}
