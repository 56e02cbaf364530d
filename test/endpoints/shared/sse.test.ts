import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { invalidRequest, rateLimited } from "../../../src/endpoints/shared/errors.js";
import { SseStream } from "../../../src/endpoints/shared/sse.js";

interface Harness {
  url: string;
  /** Settles when the handler has returned (or thrown). */
  handled: Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1:0 whose one route runs `handler`. */
async function serve(handler: (res: ServerResponse) => Promise<void>): Promise<Harness> {
  let settle!: (p: Promise<void>) => void;
  const handled = new Promise<Promise<void>>((resolve) => (settle = resolve)).then((p) => p);
  const server = createServer((_req, res) => settle(handler(res)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    handled,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("SseStream", () => {
  it("frames events exactly and ends with [DONE]", async () => {
    const h = await serve(async (res) => {
      const sse = new SseStream(res);
      sse.open({ "x-request-id": "req_1" });
      await sse.send({ a: 1 });
      await sse.send({ text: "é\n😀" });
      sse.done();
      assert.equal(sse.closed, true);
      // Calls after the end are ignored, not thrown.
      await sse.send({ late: true });
      sse.done();
    });
    try {
      const res = await fetch(h.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
      assert.equal(res.headers.get("cache-control"), "no-cache");
      assert.equal(res.headers.get("x-accel-buffering"), "no");
      assert.equal(res.headers.get("x-request-id"), "req_1");
      assert.equal(res.headers.get("content-length"), null);
      const raw = Buffer.from(await res.arrayBuffer()).toString("utf8");
      assert.equal(raw, 'data: {"a":1}\n\ndata: {"text":"é\\n😀"}\n\ndata: [DONE]\n\n');
      await h.handled;
    } finally {
      await h.close();
    }
  });

  it("reports an error after the stream started as a data event, then closes without [DONE]", async () => {
    const h = await serve(async (res) => {
      const sse = new SseStream(res);
      sse.open();
      await sse.send({ n: 1 });
      await sse.error(invalidRequest("boom", "messages", "context_length_exceeded"));
      assert.equal(sse.closed, true);
    });
    try {
      const res = await fetch(h.url);
      const raw = await res.text();
      assert.equal(
        raw,
        'data: {"n":1}\n\n' +
          'data: {"error":{"message":"boom","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}\n\n',
      );
      await h.handled;
    } finally {
      await h.close();
    }
  });

  it("reports an error before the stream started as a plain JSON error response", async () => {
    const h = await serve(async (res) => {
      const sse = new SseStream(res);
      await sse.error(rateLimited("queue full", 1), { "x-request-id": "req_2" });
    });
    try {
      const res = await fetch(h.url);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.equal(res.headers.get("retry-after"), "1");
      assert.equal(res.headers.get("x-request-id"), "req_2");
      assert.deepEqual(await res.json(), {
        error: { message: "queue full", type: "requests", param: null, code: "rate_limit_exceeded" },
      });
      await h.handled;
    } finally {
      await h.close();
    }
  });

  it("sends keepalive comments during pauses", async () => {
    const h = await serve(async (res) => {
      const sse = new SseStream(res, { keepaliveSeconds: 0.04 });
      sse.open();
      await sleep(150);
      await sse.send({ x: 1 });
      sse.done();
    });
    try {
      const raw = await (await fetch(h.url)).text();
      const lines = raw.split("\n\n").filter((l) => l !== "");
      const keepalives = lines.filter((l) => l === ": keepalive").length;
      assert.ok(keepalives >= 2, raw);
      assert.deepEqual(
        lines.filter((l) => l !== ": keepalive"),
        ['data: {"x":1}', "data: [DONE]"],
      );
      await h.handled;
    } finally {
      await h.close();
    }
  });

  it("notices a client that goes away, and never throws afterwards", async () => {
    let closedSeen = false;
    const h = await serve(async (res) => {
      const sse = new SseStream(res, { keepaliveSeconds: 0.01 });
      sse.open();
      await sse.send({ first: true });
      const started = Date.now();
      while (!sse.closed) {
        await sleep(5);
        assert.ok(Date.now() - started < 5000, "close not noticed");
      }
      closedSeen = true;
      await sse.send({ after: true });
      await sse.error(invalidRequest("late"));
      sse.done();
      sse.end();
      await sleep(30); // a keepalive tick after close must not write either
    });
    try {
      const controller = new AbortController();
      const res = await fetch(h.url, { signal: controller.signal });
      const reader = res.body!.getReader();
      const { value } = await reader.read();
      assert.match(Buffer.from(value!).toString("utf8"), /^data: \{"first":true\}\n\n/);
      controller.abort();
      await h.handled;
      assert.equal(closedSeen, true);
    } finally {
      await h.close();
    }
  });

  it("waits for drain under backpressure and is released when the client leaves", async () => {
    const big = "x".repeat(256 * 1024);
    let sent = 0;
    const h = await serve(async (res) => {
      const sse = new SseStream(res);
      sse.open();
      // Far more than the socket buffers hold: without the drain wait this would queue it all.
      while (!sse.closed && sent < 400) {
        await sse.send({ big });
        sent++;
      }
    });
    try {
      const controller = new AbortController();
      const res = await fetch(h.url, { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      await sleep(100);
      const sentWhileStalled = sent;
      assert.ok(sentWhileStalled < 400, `sent ${sentWhileStalled} events to a client that reads nothing`);
      controller.abort();
      await h.handled;
    } finally {
      await h.close();
    }
  });

  it("delivers everything intact to a slow reader", async () => {
    const payload = "y".repeat(64 * 1024);
    const h = await serve(async (res) => {
      const sse = new SseStream(res);
      sse.open();
      for (let i = 0; i < 64; i++) await sse.send({ i, payload });
      sse.done();
    });
    try {
      const res = await fetch(h.url);
      const reader = res.body!.getReader();
      const parts: Buffer[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(Buffer.from(value));
        await sleep(1);
      }
      const events = Buffer.concat(parts)
        .toString("utf8")
        .split("\n\n")
        .filter((e) => e !== "");
      assert.equal(events.length, 65);
      assert.equal(events[64], "data: [DONE]");
      events.slice(0, 64).forEach((e, i) => assert.deepEqual(JSON.parse(e.slice("data: ".length)), { i, payload }));
      await h.handled;
    } finally {
      await h.close();
    }
  });
});
