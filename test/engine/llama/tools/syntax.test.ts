// The tool-call text format per model family: the streaming parser (independent of how the text
// is chunked), the grammar built for it, and the prompt for templates that know no tools.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatOutputParser, type ParsedPiece } from "../../../../src/engine/llama/tools/output-parser.js";
import { detectToolCallSyntax } from "../../../../src/engine/llama/tools/syntax.js";
import { toolCallGbnf } from "../../../../src/engine/llama/tools/call-grammar.js";
import { describeToolsForSystemPrompt, toolCallText } from "../../../../src/engine/llama/tools/fallback-prompt.js";
import { EngineError } from "../../../../src/engine/errors.js";
import { rng } from "../../../helpers/rng.js";

const hermes = detectToolCallSyntax("{% if tools %}<tool_call>{% endif %}");
const mistral = detectToolCallSyntax("{% if tools %}[AVAILABLE_TOOLS]{% endif %}[TOOL_CALLS]");
const llama3 = detectToolCallSyntax("<|start_header_id|>{% if tools %}ipython{% endif %}");

interface Summary {
  content: string;
  reasoning: string;
  calls: { name: string; arguments: string }[];
}

/** Feeds `text` in random-sized pieces and merges what comes out. */
function parse(text: string, parser: ChatOutputParser, seed: number): Summary {
  const random = rng(seed);
  const pieces: ParsedPiece[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(random() * 7);
    pieces.push(...parser.push(text.slice(i, i + n)));
    i += n;
  }
  pieces.push(...parser.end());
  const out: Summary = { content: "", reasoning: "", calls: [] };
  for (const p of pieces) {
    if (p.kind === "content") out.content += p.text;
    else if (p.kind === "reasoning") out.reasoning += p.text;
    else if (p.kind === "call") {
      assert.equal(p.call, out.calls.length, "calls are numbered in order");
      out.calls.push({ name: p.name, arguments: "" });
    } else out.calls[p.call]!.arguments += p.text;
  }
  return out;
}

describe("tool call syntax detection", () => {
  it("reads the family off the template", () => {
    assert.equal(hermes.name, "hermes");
    assert.equal(hermes.templateRendersTools, true);
    assert.equal(mistral.name, "mistral");
    assert.equal(llama3.name, "llama3");
    assert.equal(llama3.argumentsKey, "parameters");
    const plain = detectToolCallSyntax("{% for m in messages %}{{ m.content }}{% endfor %}");
    assert.equal(plain.name, "hermes");
    assert.equal(plain.templateRendersTools, false);
  });
});

describe("ChatOutputParser", () => {
  it("keeps a call cut by max_tokens inside its closing syntax out of the content", () => {
    for (const tail of ["}", "}\n", "}\n</tool", "} </tool_call"]) {
      const parser = new ChatOutputParser({ syntax: hermes, separateReasoning: false });
      const pieces = [...parser.push(`<tool_call>\n{"name": "f", "arguments": {"a": 1}${tail}`), ...parser.end()];
      assert.deepEqual(
        pieces.filter((p) => p.kind === "content"),
        [],
        JSON.stringify(tail),
      );
      assert.equal(
        pieces
          .filter((p) => p.kind === "arguments")
          .map((p) => (p as { text: string }).text)
          .join(""),
        '{"a": 1}',
      );
    }
  });

  const cases: [string, ReturnType<typeof detectToolCallSyntax>, string, Summary][] = [
    [
      "hermes, reasoning, content and two calls",
      hermes,
      '<think>\nplan it\n</think>\n\nChecking. <tool_call>\n{"name": "get_weather", "arguments": {"city": "Pa\\"ris", "n": [1, {"a": "}"}]}}\n</tool_call>\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>',
      {
        reasoning: "plan it",
        content: "Checking.",
        calls: [
          { name: "get_weather", arguments: '{"city": "Pa\\"ris", "n": [1, {"a": "}"}]}' },
          { name: "f", arguments: "{}" },
        ],
      },
    ],
    [
      "mistral's list, text after it",
      mistral,
      '[TOOL_CALLS][{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}] done',
      {
        reasoning: "",
        content: " done",
        calls: [
          { name: "a", arguments: '{"x": 1}' },
          { name: "b", arguments: "{}" },
        ],
      },
    ],
    [
      "llama 3's bare object with parameters",
      llama3,
      '{"name": "lookup", "parameters": {"q": "x"}}',
      { reasoning: "", content: "", calls: [{ name: "lookup", arguments: '{"q": "x"}' }] },
    ],
    [
      "a trigger that is not a call stays content",
      hermes,
      "use <tool_call> tags, like this: <tool_call> oops",
      { reasoning: "", content: "use <tool_call> tags, like this: <tool_call> oops", calls: [] },
    ],
  ];
  for (const [name, syntax, text, expected] of cases)
    it(name, () => {
      for (const seed of [1, 2, 3, 4, 5])
        assert.deepEqual(
          parse(text, new ChatOutputParser({ syntax, separateReasoning: true }), seed),
          expected,
          `seed ${seed}`,
        );
    });

  it("without separateReasoning, <think> text is content", () => {
    const out = parse("<think>a</think>b", new ChatOutputParser({ syntax: null, separateReasoning: false }), 1);
    assert.deepEqual(out, { reasoning: "", content: "<think>a</think>b", calls: [] });
  });
});

describe("tool call grammar", () => {
  const tools = [
    {
      name: "a",
      parameters: {
        type: "object",
        properties: { x: { type: "integer" } },
        required: ["x"],
        additionalProperties: false,
      },
      strict: true,
    },
    { name: "b", strict: false },
  ];

  it("offers every function (or the named one), parallel or one call, starting after text already written", () => {
    const all = toolCallGbnf(hermes, { tools, toolChoice: "required", parallel: true });
    assert.match(all, /"a\\", \\"arguments\\": "/);
    assert.match(all, /"b\\", \\"arguments\\": "/);
    assert.match(all, /^root ::= "<tool_call>\\x0A\{\\"name\\": \\""/m);
    const named = toolCallGbnf(hermes, { tools, toolChoice: { name: "b" }, parallel: false });
    assert.doesNotMatch(named, /\\"a\\"/);
    const after = toolCallGbnf(hermes, { tools, toolChoice: "auto", parallel: false }, "<tool_call>");
    assert.match(after, /^root ::= "\\x0A\{\\"name\\": \\""/m);
    assert.throws(() => toolCallGbnf(hermes, { tools, toolChoice: "auto", parallel: false }, "<tool_x"), /internal/);
  });

  it("refuses a strict tool's unenforceable schema, naming it; a non-strict one drops the keyword only", () => {
    const bad = { type: "object", properties: { a: { not: {} }, b: { type: "integer" } }, required: ["b"] };
    assert.throws(
      () =>
        toolCallGbnf(hermes, {
          tools: [tools[0]!, { name: "c", parameters: bad, strict: true }],
          toolChoice: "required",
          parallel: false,
        }),
      (e: unknown) => e instanceof EngineError && e.field === "tools[1].parameters" && /"not"/.test(e.message),
    );
    const grammarOf = (parameters: Record<string, unknown>): string =>
      toolCallGbnf(hermes, {
        tools: [{ name: "c", parameters, strict: false }],
        toolChoice: "required",
        parallel: false,
      });
    // The rest of the schema is enforced: the same grammar as the schema without `not`, not "any object".
    const loose = grammarOf(bad);
    assert.equal(loose, grammarOf({ type: "object", properties: { a: {}, b: { type: "integer" } }, required: ["b"] }));
    assert.notEqual(loose, grammarOf({ type: "object" }));
  });

  it("a non-strict schema that no value satisfies constrains the arguments to a JSON object", () => {
    const grammarOf = (parameters: Record<string, unknown>): string =>
      toolCallGbnf(hermes, {
        tools: [{ name: "c", parameters, strict: false }],
        toolChoice: "required",
        parallel: false,
      });
    const impossible = {
      type: "object",
      properties: { a: { type: "string", minLength: 3, maxLength: 1 } },
      required: ["a"],
    };
    assert.equal(grammarOf(impossible), grammarOf({ type: "object" }));
  });
});

describe("prompt for templates without tools", () => {
  it("lists the tools and shows the syntax the parser expects", () => {
    const text = describeToolsForSystemPrompt(hermes, [
      { name: "f", description: "does f", parameters: { type: "object" }, strict: false },
    ]);
    assert.match(text, /"name":"f"/);
    assert.match(text, /<tool_call>\n\{"name": "<function-name>", "arguments": <args-json-object>\}\n<\/tool_call>/);
    const written = toolCallText(hermes, [
      { id: "1", name: "f", arguments: '{"x": 1}' },
      { id: "2", name: "g", arguments: "{}" },
    ]);
    const parsed = parse(written, new ChatOutputParser({ syntax: hermes, separateReasoning: false }), 3);
    assert.deepEqual(parsed.calls, [
      { name: "f", arguments: '{"x": 1}' },
      { name: "g", arguments: "{}" },
    ]);
  });
});
