// Every error a client can provoke comes back OpenAI-shaped, with the status the SDK maps to the
// right exception class, and never as a 500 or a hang.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ contextSize: 256 });
});
after(async () => {
  await server?.close();
});

const messages = [{ role: "user" as const, content: "hi" }];

async function expectApiError<T extends new (...args: never[]) => Error>(
  promise: Promise<unknown>,
  Class: T,
  expected: { status: number; param?: string | null; code?: string | null; message?: RegExp },
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Class, `expected ${Class.name}, got ${String(error)}`);
    const e = error as unknown as InstanceType<typeof OpenAI.APIError>;
    assert.equal(e.status, expected.status);
    if (expected.param !== undefined) assert.equal(e.param, expected.param);
    if (expected.code !== undefined) assert.equal(e.code, expected.code);
    if (expected.message) assert.match(e.message, expected.message);
    assert.equal(typeof e.type, "string");
    assert.match(e.requestID ?? "", /^req_/);
    return true;
  });
}

async function rawPost(
  path: string,
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
) {
  const res = await fetch(`${server.baseURL}${path}`, { method: "POST", body, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { error: Record<string, unknown> } };
}

describe("errors", () => {
  it("rejects out-of-range parameters with OpenAI's message and param", async () => {
    await expectApiError(
      server.client.chat.completions.create({ model: "tiny", messages, temperature: 3 }),
      OpenAI.BadRequestError,
      {
        status: 400,
        param: "temperature",
        code: "decimal_above_max_value",
        message: /Expected a value <= 2, but got 3 instead/,
      },
    );
    await expectApiError(
      server.client.chat.completions.create({ model: "tiny", messages, top_p: -1 }),
      OpenAI.BadRequestError,
      {
        status: 400,
        param: "top_p",
      },
    );
    await expectApiError(
      server.client.chat.completions.create({ model: "tiny", messages, stop: ["a", "b", "c", "d", "e"] }),
      OpenAI.BadRequestError,
      {
        status: 400,
        param: "stop",
      },
    );
  });

  it("rejects a missing required parameter", async () => {
    await expectApiError(server.client.chat.completions.create({ model: "tiny" } as never), OpenAI.BadRequestError, {
      status: 400,
      param: "messages",
      code: "missing_required_parameter",
    });
  });

  it("rejects parameters lavash does not honour yet instead of ignoring them", async () => {
    await expectApiError(
      server.client.chat.completions.create({ model: "tiny", messages, reasoning_effort: "low" }),
      OpenAI.BadRequestError,
      { status: 400, param: "reasoning_effort" },
    );
    await expectApiError(
      server.client.chat.completions.create({
        model: "tiny",
        messages,
        prediction: { type: "content", content: "x" },
      }),
      OpenAI.BadRequestError,
      { status: 400, param: "prediction" },
    );
    // The same parameters at their no-op values are accepted.
    const ok = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      response_format: { type: "text" },
      tools: [],
      max_tokens: 1,
    });
    assert.equal(ok.choices.length, 1);
  });

  it("rejects an unknown parameter", async () => {
    await expectApiError(
      server.client.chat.completions.create({ model: "tiny", messages, frobnicate: 1 } as never),
      OpenAI.BadRequestError,
      {
        status: 400,
        param: "frobnicate",
      },
    );
  });

  it("rejects stream_options without stream", async () => {
    await expectApiError(
      server.client.chat.completions.create({ model: "tiny", messages, stream_options: { include_usage: true } }),
      OpenAI.BadRequestError,
      { status: 400, param: "stream_options", message: /only allowed when 'stream' is enabled/ },
    );
  });

  it("answers an unknown model with 404 model_not_found, streaming or not", async () => {
    for (const stream of [false, true]) {
      await expectApiError(
        server.client.chat.completions.create({ model: "nope", messages, stream }),
        OpenAI.NotFoundError,
        {
          status: 404,
          code: "model_not_found",
          message: /The model `nope` does not exist/,
        },
      );
    }
    await expectApiError(server.client.models.retrieve("nope"), OpenAI.NotFoundError, {
      status: 404,
      code: "model_not_found",
    });
  });

  it("refuses a prompt longer than the context, naming the numbers", async () => {
    const long = "word ".repeat(400);
    await expectApiError(
      server.client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: long }] }),
      OpenAI.BadRequestError,
      { status: 400, code: "context_length_exceeded", message: /maximum context length is 256 tokens/ },
    );
    await expectApiError(
      server.client.completions.create({ model: "tiny", prompt: "hello", max_tokens: 300 }),
      OpenAI.BadRequestError,
      {
        status: 400,
        code: "context_length_exceeded",
        param: "prompt",
        message: /you requested 30\d tokens \(\d in the prompt, 300 in the completion\)/,
      },
    );
  });

  it("ends with finish_reason length when the context fills up", async () => {
    // No max_tokens: generation runs until the 256-token context is full, with no context shift.
    const res = await server.client.chat.completions.create({ model: "tiny", messages, seed: 1 });
    assert.equal(res.choices[0]!.finish_reason, "length");
    assert.equal(res.usage!.prompt_tokens + res.usage!.completion_tokens, 256);
  });

  it("answers malformed JSON with 400 in OpenAI's shape", async () => {
    const res = await rawPost("/chat/completions", "{not json");
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(res.body.error.type, "invalid_request_error");
    assert.match(res.headers.get("x-request-id") ?? "", /^req_/);
  });

  it("answers a body that is not an object with 400", async () => {
    for (const body of ["[]", "42", '"text"', "null"]) {
      const res = await rawPost("/chat/completions", body);
      assert.equal(res.status, 400, body);
      assert.equal(res.body.error.type, "invalid_request_error");
    }
  });

  it("answers an unknown route with 404 Invalid URL", async () => {
    const res = await fetch(`${server.baseURL}/engines`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { message: string; code: string } };
    assert.equal(body.error.message, "Invalid URL (POST /v1/engines)");
  });

  it("rejects image content parts for a text model", async () => {
    await expectApiError(
      server.client.chat.completions.create({
        model: "tiny",
        messages: [
          { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AA==" } }] },
        ],
      }),
      OpenAI.BadRequestError,
      { status: 400 },
    );
  });
});
