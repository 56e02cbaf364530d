// Several models at once, loading and unloading them while serving (admin endpoints), idle unload
// (keep-alive) and the memory check before a load: real engine, real server, the official client.
import assert from "node:assert/strict";
import { mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { ensureBuiltinModel } from "../../../src/models/builtin.js";
import { startTestServer, type TestServer, waitForIdle } from "../../helpers/server.js";

const ADMIN = "admin-secret";
let server: TestServer;

before(async () => {
  server = await startTestServer(
    {
      models: [
        { id: "a", source: "builtin:tiny" },
        { id: "b", source: "builtin:tiny", parallel: 2, contextSize: 512 },
      ],
      parallel: 3,
      threads: 1,
    },
    { auth: { keys: [], adminKeys: [ADMIN] } },
  );
});
after(async () => {
  await server?.close();
});

const say = (model: string) =>
  server.client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], seed: 1, max_tokens: 4 });

async function admin(
  path: string,
  body: unknown,
  key: string | null = ADMIN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.root}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const sequencesOf = async (model: string) => (await server.status()).sequences.filter((s) => s.model === model);

describe("several models", () => {
  it("serves two models by alias, each with its own settings", async () => {
    const ids = (await server.client.models.list()).data.map((m) => m.id);
    assert.deepEqual(ids, ["a", "b"]);
    assert.equal((await say("a")).model, "a");
    assert.equal((await say("b")).model, "b");
    assert.equal((await sequencesOf("a")).length, 3, "the engine's parallel");
    assert.equal((await sequencesOf("b")).length, 2, "b's own parallel");
    const tokens = await (
      await fetch(`${server.root}/tokenize`, { method: "POST", body: JSON.stringify({ model: "b", prompt: "hi" }) })
    ).json();
    assert.equal((tokens as { max_model_len: number }).max_model_len, 512);
  });

  it("admin routes need the admin key", async () => {
    assert.equal((await admin("/models/unload", { model: "b" }, null)).status, 401);
    assert.equal((await admin("/models/unload", { model: "b" }, "wrong")).status, 401);
    const e = await admin("/models/load", { model: "x" }, null);
    assert.equal((e.body.error as { code: string }).code, "invalid_api_key");
  });

  it("loads a new model, unloads it (next request reloads it), and forgets it", async () => {
    const loaded = await admin("/models/load", { model: "c", source: "builtin:tiny", ctx_size: 256, parallel: 1 });
    assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
    assert.equal(loaded.body.status, "loaded");
    assert.ok((await server.client.models.list()).data.some((m) => m.id === "c"));
    const first = await say("c");

    assert.equal((await admin("/models/unload", { model: "c" })).body.status, "unloaded");
    assert.equal((await sequencesOf("c")).length, 0, "its context is freed");
    const again = await say("c");
    assert.equal(again.choices[0]!.message.content, first.choices[0]!.message.content, "reloaded, same answer");
    assert.equal((await sequencesOf("c")).length, 1);

    assert.equal((await admin("/models/unload", { model: "c", forget: true })).body.status, "removed");
    await assert.rejects(say("c"), (e: unknown) => e instanceof OpenAI.NotFoundError);
    assert.equal((await admin("/models/unload", { model: "c" })).status, 404);
  });

  it("refuses a load that cannot fit, with the numbers, and a name already taken", async () => {
    // tiny's KV cache takes ~1 KiB a position: 64 × 1M positions is ~62 GiB.
    const huge = await admin("/models/load", {
      model: "huge",
      source: "builtin:tiny",
      ctx_size: 1_000_000,
      parallel: 64,
    });
    assert.equal(huge.status, 400);
    assert.match(
      (huge.body.error as { message: string }).message,
      /needs about [\d.]+ GiB of RAM but [\d.]+ GiB is free/,
    );
    assert.ok(!(await server.client.models.list()).data.some((m) => m.id === "huge"));
    const taken = await admin("/models/load", { model: "a", source: "builtin:qwen2.5-0.5b-shape" });
    assert.equal(taken.status, 400);
    assert.equal((await admin("/models/load", { model: "nope" })).status, 404);
    const bad = await admin("/models/load", { model: "d", source: "/no/such/model.gguf" });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
  });
});

describe("a model that cannot load", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lavash-admin-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const listed = async (id: string) => (await server.client.models.list()).data.some((m) => m.id === id);

  it("a file that is not GGUF: 400 in OpenAI's shape with the reason, and not listed", async () => {
    const junk = join(dir, "junk.gguf");
    await writeFile(junk, "not a model\n");
    const res = await admin("/models/load", { model: "junk", source: junk });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      error: {
        message: `Model 'junk' could not be loaded: ${junk} is not a GGUF model file (it does not start with 'GGUF'): pass a .gguf file, hf:owner/repo[:quant] or builtin:tiny`,
        type: "invalid_request_error",
        param: "source",
        code: "model_load_failed",
      },
    });
    assert.ok(!(await listed("junk")));
    const missing = await admin("/models/load", { model: "gone", source: join(dir, "gone.gguf") });
    assert.equal(missing.status, 400);
    assert.match((missing.body.error as { message: string }).message, /no such file: .*gone\.gguf/);
    assert.ok(!(await listed("gone")));
  });

  it("a model whose file is gone when it loads again: its request gets the reason (503), and it is no longer listed", async () => {
    const link = join(dir, "e.gguf");
    await symlink(await ensureBuiltinModel("tiny"), link);
    assert.equal((await admin("/models/load", { model: "e", source: link, ctx_size: 256, parallel: 1 })).status, 200);
    assert.equal((await admin("/models/unload", { model: "e" })).body.status, "unloaded");
    await unlink(link);
    await assert.rejects(
      say("e"),
      (e: unknown) =>
        e instanceof OpenAI.APIError &&
        e.status === 503 &&
        /model 'e' could not be loaded: no such file/.test(e.message),
    );
    assert.ok(!(await listed("e")), "not left listed");
    assert.equal(
      (await admin("/models/load", { model: "e" })).status,
      404,
      "forgotten: its source must be given again",
    );
    assert.equal((await say("a")).model, "a", "the other models serve on");
  });
});

describe("keep-alive", () => {
  it("unloads an idle model and reloads it on the next request", async () => {
    const idle = await startTestServer({ keepAlive: 1, threads: 1, parallel: 1 });
    try {
      const first = await idle.client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "hi" }],
        seed: 2,
        max_tokens: 3,
      });
      await waitForIdle(idle);
      const deadline = Date.now() + 10_000;
      while ((await idle.status()).sequences.length > 0) {
        assert.ok(Date.now() < deadline, "not unloaded within 10 s");
        await new Promise((r) => setTimeout(r, 100));
      }
      const second = await idle.client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "hi" }],
        seed: 2,
        max_tokens: 3,
      });
      assert.equal(second.choices[0]!.message.content, first.choices[0]!.message.content);
      assert.equal((await idle.status()).sequences.length, 1);
    } finally {
      await idle.close();
    }
  });
});
