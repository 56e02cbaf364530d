// `stop`: generation ends before the first stop string, which is excluded from the output, also
// when the stop string spans several tokens and while streaming.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const base = {
  model: "tiny",
  messages: [{ role: "user" as const, content: "Write a long story." }],
  max_tokens: 60,
  temperature: 1,
};

/** Streams a seeded request and returns its deltas: one per token, in practice. */
async function deltas(seed: number): Promise<string[]> {
  const stream = await server.client.chat.completions.create({ ...base, seed, stream: true });
  const out: string[] = [];
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta.content;
    if (text) out.push(text);
  }
  return out;
}

/** A stop string made of the end of one token's text and the start of the next. */
function crossTokenStop(pieces: string[]): { stop: string; boundary: number } {
  for (let k = 4; k < pieces.length - 1; k++) {
    const a = pieces[k]!;
    const b = pieces[k + 1]!;
    if (a.length >= 2 && b.length >= 2 && !(a + b).includes("\uFFFD"))
      return { stop: a.slice(-2) + b.slice(0, 2), boundary: k };
  }
  throw new Error("no two adjacent multi-character tokens in the sample");
}

describe("stop sequences", () => {
  for (const seed of [7, 8, 9]) {
    it(`stops before a stop string that spans two tokens (seed ${seed})`, async () => {
      const pieces = await deltas(seed);
      const whole = pieces.join("");
      const { stop } = crossTokenStop(pieces);
      const expected = whole.slice(0, whole.indexOf(stop));

      const res = await server.client.chat.completions.create({ ...base, seed, stop: ["never-appears-zzz", stop] });
      assert.equal(res.choices[0]!.message.content, expected);
      assert.equal(res.choices[0]!.finish_reason, "stop");
      assert.ok(res.usage!.completion_tokens < 60);

      const streamed = await server.client.chat.completions.create({ ...base, seed, stop, stream: true });
      let text = "";
      let finish: string | null = null;
      for await (const chunk of streamed) {
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(text, expected);
      assert.equal(finish, "stop");
    });
  }

  it("treats a stop string that never occurs as no stop", async () => {
    const res = await server.client.chat.completions.create({
      ...base,
      seed: 7,
      max_tokens: 10,
      stop: "never-appears-zzz",
    });
    assert.equal(res.choices[0]!.finish_reason, "length");
    assert.equal(res.usage!.completion_tokens, 10);
  });

  it("applies stop strings to legacy completions too", async () => {
    const request = { model: "tiny", prompt: "Once upon a time", max_tokens: 40, seed: 21 };
    const plain = (await server.client.completions.create(request)).choices[0]!.text;
    const stop = plain.slice(10, 13);
    const res = await server.client.completions.create({ ...request, stop });
    assert.equal(res.choices[0]!.text, plain.slice(0, plain.indexOf(stop)));
    assert.equal(res.choices[0]!.finish_reason, "stop");
  });
});
