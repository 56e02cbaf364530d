// A loopback HTTP server whose answers a test scripts request by request, for what the real
// server will not do on demand: fail, stall, send Retry-After, break a stream.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request's body was in. */
  at: number;
}

/** Answers request `n` (0-based). */
export type Script = (req: SeenRequest, res: ServerResponse, n: number) => void;

export interface ScriptedServer {
  /** http://127.0.0.1:<port>/v1 */
  baseURL: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      const seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(parts).toString("utf8"),
        at: performance.now(),
      };
      requests.push(seen);
      script(seen, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export function errorBody(
  message: string,
  code: string | null = null,
  param: string | null = null,
  type = "server_error",
) {
  return { error: { message, type, param, code } };
}

/** Opens an event stream (headers flushed at once, as lavash does). */
export function openStream(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { "content-type": "text/event-stream", "x-request-id": "req_stream", ...headers });
  res.flushHeaders();
}

export function chatChunk(content: string, finish: string | null = null) {
  return {
    id: "chatcmpl-x",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    system_fingerprint: "fp",
    choices: [{ index: 0, delta: finish === null ? { content } : {}, logprobs: null, finish_reason: finish }],
  };
}
