// Graceful shutdown: refuse new work, let running requests finish until the deadline, stop the
// rest (streams end with an error event, others with a 503), then close the server and the engine.
import type { FastifyInstance } from "fastify";
import { serviceUnavailable } from "../endpoints/shared/errors.js";
import type { Engine } from "../engine/types.js";

// A stopped generation ends at the scheduler's next tick; this bounds the wait for everything
// else (a long embedding, a client that reads nothing) before connections are cut.
const afterStopMs = 5000;

export async function drainAndClose(app: FastifyInstance, engine: Engine, deadlineMs: number): Promise<void> {
  const { inFlight } = app;
  inFlight.drain();
  // No new connections; idle keep-alive ones are closed. The callback form swallows the error a
  // second close (app.close below) would otherwise leave unhandled.
  app.server.close(() => undefined);
  app.server.closeIdleConnections();
  if (!(await within(inFlight.idle(), deadlineMs))) {
    app.log.warn(`shutdown: ${inFlight.size} request(s) still running after ${deadlineMs / 1000} s; stopping them`);
    inFlight.stopAll(serviceUnavailable("The server shut down before this request finished."));
    await within(inFlight.idle(), afterStopMs);
  }
  // Kept-alive connections that went idle after the listener closed would hold the process open
  // for the keep-alive timeout; anything still running now would not stop.
  app.server.closeAllConnections();
  await app.close();
  await engine.close();
}

/** True when `promise` settled within `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
