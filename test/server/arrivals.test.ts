// What the server reports to the scheduler as "on its way" (src/server/arrivals.ts), over real
// sockets on a loopback port: a connection that has not sent its request yet, a generation request
// whose body is still arriving; neither once the handler runs, the connection closes or the
// request is answered without reaching its handler.
import assert from "node:assert/strict";
import { type AddressInfo, connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { Arrivals } from "../../src/server/arrivals.js";

let app: FastifyInstance;
let port: number;
const arrivals = new Arrivals();
/** pending() as the handler of each request saw it. */
const seenByHandler: number[] = [];

before(async () => {
  app = Fastify();
  arrivals.register(app);
  app.post("/v1/completions", async () => {
    seenByHandler.push(arrivals.pending());
    return { ok: true };
  });
  app.get("/health", async () => ({ ok: true }));
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
after(async () => {
  await app.close();
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what} (pending ${arrivals.pending()})`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function readAnswer(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (d) => {
      text += d.toString();
      if (/\r\n\r\n[\s\S]*\}/.test(text)) resolve(text);
    });
  });
}

const body = JSON.stringify({ model: "m", prompt: "hi" });
const head = (path: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe("Arrivals", () => {
  it("counts a connection until it sends its request, and a generation request until its handler runs", async () => {
    assert.equal(arrivals.pending(), 0);
    const socket = await open();
    await until(() => arrivals.pending() === 1, "the new connection");
    const answer = readAnswer(socket);
    // Headers and half the body: the request is being read.
    socket.write(head("/v1/completions", Buffer.byteLength(body)) + body.slice(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(arrivals.pending(), 1, "a request whose body is still arriving");
    socket.write(body.slice(5));
    assert.match(await answer, /200 OK/);
    assert.equal(seenByHandler.at(-1), 0, "at its handler a request no longer counts");
    assert.equal(arrivals.pending(), 0);
    socket.destroy();
  });

  it("forgets a connection that closes without a request, and requests answered before their handler", async () => {
    const silent = await open();
    await until(() => arrivals.pending() === 1, "the new connection");
    silent.destroy();
    await until(() => arrivals.pending() === 0, "the closed connection to be forgotten");

    // A body that is not JSON is answered by the parser: the handler never runs.
    const socket = await open();
    const answer = readAnswer(socket);
    socket.write(`${head("/v1/completions", 3)}{{{`);
    assert.match(await answer, /400 Bad Request/);
    await until(() => arrivals.pending() === 0, "the refused request to be forgotten");
    socket.destroy();
  });

  it("does not count requests to other routes once they are read", async () => {
    const socket = await open();
    const answer = readAnswer(socket);
    socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(await answer, /200 OK/);
    assert.equal(arrivals.pending(), 0);
    socket.destroy();
  });
});
