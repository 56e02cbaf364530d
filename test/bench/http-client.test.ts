// The bench's HTTP client over a server that, like llama-server after a streamed response, closes
// kept-alive connections: a request sent on one must be retried, even when the retry is handed
// another closed one, and must not be counted as a failure.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { createAgent, streamPost } from "../../src/bench/http-client.js";

const BODY = `data: {"choices":[{"index":0,"text":"a","finish_reason":"length"}]}\n\ndata: [DONE]\n\n`;
const RESPONSE = `HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`;

let server: net.Server;
let url: string;
let hangUps = 0;

before(async () => {
  // Answers the first request of each connection and hangs up on any later one, without a
  // `Connection: close`: the client sees the connection as reusable until it tries.
  server = net.createServer((socket) => {
    let served = false;
    socket.on("data", (chunk: Buffer) => {
      // A request's head and body may come in separate reads: count request lines only.
      if (!chunk.toString("latin1").startsWith("POST ")) return;
      if (served) {
        hangUps++;
        socket.destroy();
        return;
      }
      served = true;
      socket.write(RESPONSE);
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1/completions`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("streamPost", () => {
  it("retries over every closed kept-alive connection the agent hands it, then a new one", async () => {
    const agent = createAgent(url);
    try {
      // Two at once: two connections, both left idle in the agent's pool once answered.
      const first = await Promise.all([0, 1].map(() => streamPost(url, {}, agent, 5000)));
      assert.deepEqual(
        first.map((t) => t.error),
        [null, null],
      );
      const next = await streamPost(url, {}, agent, 5000);
      assert.equal(next.error, null, "a closed idle connection is not the request's failure");
      assert.equal(hangUps, 2, "both idle connections were tried before a new one");
    } finally {
      agent.destroy();
    }
  });
});
