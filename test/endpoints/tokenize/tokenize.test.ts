// POST /tokenize and /detokenize (vLLM's extension endpoints) against the real server: vLLM's
// shapes and defaults, counts that agree with the generation endpoints' usage, and 400/404s for
// what cannot be served.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ contextSize: 512, parallel: 1 });
});
after(async () => {
  await server?.close();
});

interface TokenizeBody {
  count: number;
  max_model_len: number;
  tokens: number[];
  token_strs: string[] | null;
}
interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function post<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
  // vLLM serves these at the root, not under /v1.
  const res = await fetch(new URL(path, server.baseURL), {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  return { status: res.status, body: (await res.json()) as T };
}

const text = "Hello, 世界! 🎉🧪 naïve café — tab\there\nnew line, code: `f(x) { return x**2; }`";

describe("tokenize / detokenize", () => {
  it("round-trips text with CJK and emoji, with vLLM's response shape", async () => {
    const tok = await post<TokenizeBody>("/tokenize", { model: "tiny", prompt: text });
    assert.equal(tok.status, 200);
    assert.deepEqual(Object.keys(tok.body).sort(), ["count", "max_model_len", "token_strs", "tokens"]);
    assert.equal(tok.body.count, tok.body.tokens.length);
    assert.ok(tok.body.count > 10);
    assert.equal(tok.body.max_model_len, 512);
    assert.equal(tok.body.token_strs, null);
    const detok = await post<{ prompt: string }>("/detokenize", { model: "tiny", tokens: tok.body.tokens });
    assert.equal(detok.status, 200);
    assert.deepEqual(detok.body, { prompt: text });
  });

  it("counts a text prompt as the completion's usage does, and defaults model to the served one", async () => {
    const tok = await post<TokenizeBody>("/tokenize", { prompt: "The quick brown fox", add_special_tokens: true });
    const completion = await server.client.completions.create({
      model: "tiny",
      prompt: "The quick brown fox",
      max_tokens: 1,
    });
    assert.equal(tok.body.count, completion.usage!.prompt_tokens);
  });

  it("returns each token's text with return_token_strs", async () => {
    const tok = await post<TokenizeBody>("/tokenize", {
      model: "tiny",
      prompt: "Hello world, tokens!",
      return_token_strs: true,
    });
    assert.equal(tok.status, 200);
    assert.equal(tok.body.token_strs!.length, tok.body.count);
    assert.equal(tok.body.token_strs!.join(""), "Hello world, tokens!");
  });

  it("tokenizes a chat exactly as the chat completion counts its prompt", async () => {
    const messages = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Say 你好 🙂" },
    ];
    const tok = await post<TokenizeBody>("/tokenize", { model: "tiny", messages });
    assert.equal(tok.status, 200);
    const chat = await server.client.chat.completions.create({ model: "tiny", messages, max_tokens: 1 });
    assert.equal(tok.body.count, chat.usage!.prompt_tokens);
    const rendered = await post<{ prompt: string }>("/detokenize", { tokens: tok.body.tokens });
    assert.equal(
      rendered.body.prompt,
      "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nSay 你好 🙂<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("honours add_generation_prompt and continue_final_message", async () => {
    const user = [{ role: "user", content: "hi" }];
    const closed = await post<TokenizeBody>("/tokenize", {
      model: "tiny",
      messages: user,
      add_generation_prompt: false,
    });
    assert.equal(
      (await post<{ prompt: string }>("/detokenize", { tokens: closed.body.tokens })).body.prompt,
      "<|im_start|>user\nhi<|im_end|>\n",
    );

    const prefill = [...user, { role: "assistant", content: "Hel" }];
    // Qwen3's template (the built-in models') writes an empty thought before the latest answer.
    const thought = "<think>\n\n</think>\n\n";
    const open = await post<TokenizeBody>("/tokenize", {
      model: "tiny",
      messages: prefill,
      continue_final_message: true,
    });
    assert.equal(open.status, 200);
    assert.equal(
      (await post<{ prompt: string }>("/detokenize", { tokens: open.body.tokens })).body.prompt,
      `<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n${thought}Hel`,
    );

    const both = await post<ErrorBody>("/tokenize", {
      model: "tiny",
      messages: prefill,
      continue_final_message: true,
      add_generation_prompt: true,
    });
    assert.equal(both.status, 400);
    assert.match(both.body.error.message, /Cannot set both/);
    // Without continue_final_message the final assistant message is a closed turn.
    const closedAssistant = await post<TokenizeBody>("/tokenize", {
      model: "tiny",
      messages: prefill,
      add_generation_prompt: false,
    });
    assert.equal(closedAssistant.status, 200);
    assert.equal(
      (await post<{ prompt: string }>("/detokenize", { tokens: closedAssistant.body.tokens })).body.prompt,
      `<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n${thought}Hel<|im_end|>\n`,
    );
  });

  it("refuses ids outside the vocabulary with 400 naming tokens", async () => {
    const res = await post<ErrorBody>("/detokenize", { model: "tiny", tokens: [9707, 151936] });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.param, "tokens");
    assert.equal(res.body.error.type, "invalid_request_error");
    assert.match(res.body.error.message, /151936 at tokens\[1\]/);
    const negative = await post<ErrorBody>("/detokenize", { model: "tiny", tokens: [-1] });
    assert.equal(negative.status, 400);
    assert.equal(negative.body.error.param, "tokens[0]");
  });

  it("answers an unknown model with 404 model_not_found", async () => {
    for (const [path, body] of [
      ["/tokenize", { model: "nope", prompt: "x" }],
      ["/tokenize", { model: "nope", messages: [{ role: "user", content: "x" }] }],
      ["/detokenize", { model: "nope", tokens: [1] }],
    ] as const) {
      const res = await post<ErrorBody>(path, body);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.error.code, "model_not_found");
    }
  });

  it("rejects unknown fields and vLLM options it cannot honour, by name", async () => {
    const unknown = await post<ErrorBody>("/tokenize", { model: "tiny", prompt: "x", frobnicate: 1 });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.param, "frobnicate");
    const template = await post<ErrorBody>("/tokenize", {
      model: "tiny",
      messages: [{ role: "user", content: "x" }],
      chat_template: "{{ messages }}",
    });
    assert.equal(template.status, 400);
    assert.equal(template.body.error.param, "chat_template");
    assert.equal(template.body.error.code, "unsupported_parameter");
    const both = await post<ErrorBody>("/tokenize", {
      model: "tiny",
      prompt: "x",
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(both.status, 400);
    const neither = await post<ErrorBody>("/tokenize", { model: "tiny" });
    assert.equal(neither.status, 400);
    assert.equal(neither.body.error.code, "missing_required_parameter");
  });
});
