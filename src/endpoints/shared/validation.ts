// Turns zod validation failures into the 400s OpenAI sends, generically (one mapping for every
// schema): clients and people debug against OpenAI's wording, codes and `param` paths, so a
// request that OpenAI rejects should be rejected here with the same words.
import type { z } from "zod";
import { type ApiError, invalidRequest } from "./errors.js";

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

// zod reports failures of z.int() and z.number() identically (origin "number", expected
// "number"), but OpenAI says "integer above maximum value" vs "decimal above maximum value" and
// "expected an integer" vs "expected a decimal". The schema is only visible to the error map, so
// it tags the message and the mapper below reads the tag.
const INTEGER_TAG = "lavash:integer";
const DECIMAL_TAG = "lavash:decimal";
const INTEGER_FORMATS = new Set(["safeint", "int32", "uint32", "int64", "uint64"]);

interface SchemaWithFormat {
  _zod: { def: { format?: unknown }; bag?: { format?: unknown } };
}

function numericKindErrorMap(issue: z.core.$ZodRawIssue): string | undefined {
  const numeric =
    ((issue.code === "too_big" || issue.code === "too_small") && issue.origin === "number") ||
    (issue.code === "invalid_type" && issue.expected === "number");
  if (!numeric) return undefined;
  const schema = issue.schema as SchemaWithFormat | undefined;
  const format = schema?._zod.def.format ?? schema?._zod.bag?.format;
  return typeof format === "string" && INTEGER_FORMATS.has(format) ? INTEGER_TAG : DECIMAL_TAG;
}

/** Validates `body` against `schema`; throws a 400 ApiError shaped like OpenAI's on failure. */
export function parseWith<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body, { error: numericKindErrorMap });
  if (result.success) return result.data;
  throw zodErrorToApiError(result.error, body);
}

export function zodErrorToApiError(error: z.ZodError, body: unknown): ApiError {
  const first = error.issues[0];
  if (first === undefined) return invalidRequest("Invalid request.");
  return issueToApiError(first, body, []);
}

/** OpenAI's notation for a parameter path: `messages[0].content[1].type`. */
export function formatParamPath(path: readonly PathKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function issueToApiError(issue: Issue, body: unknown, base: readonly PathKey[]): ApiError {
  const path = [...base, ...issue.path];
  const param = path.length === 0 ? null : formatParamPath(path);
  const name = param ?? "body";
  const found = lookup(body, path);

  switch (issue.code) {
    case "invalid_type": {
      if (path.length === 0) {
        return invalidRequest(
          `The request body must be a JSON object, but got ${describeValue(found.value)} instead.`,
          null,
          "invalid_type",
        );
      }
      if (!found.present) return missingRequired(name);
      return invalidRequest(
        `Invalid type for '${name}': expected ${expectedPhrase(expectedOf(issue))}, but got ${describeValue(found.value)} instead.`,
        param,
        "invalid_type",
      );
    }

    case "too_big":
    case "too_small":
      return rangeError(issue, name, param, found.value);

    case "unrecognized_keys": {
      if (path.length === 0) {
        const plural = issue.keys.length > 1;
        return invalidRequest(
          `Unrecognized request argument${plural ? "s" : ""} supplied: ${issue.keys.join(", ")}`,
          issue.keys[0] ?? null,
          "unknown_parameter",
        );
      }
      const key = formatParamPath([...path, issue.keys[0] ?? ""]);
      return invalidRequest(`Unknown parameter: '${key}'.`, key, "unknown_parameter");
    }

    case "invalid_union":
      return unionError(issue, body, path, name, param, found);

    case "invalid_value":
      if (!found.present) return missingRequired(name);
      return invalidRequest(
        `Invalid value: ${quote(found.value)}. Supported values are: ${listWithAnd(issue.values.map(quote))}.`,
        param,
        "invalid_value",
      );

    case "invalid_format":
      if (issue.format === "regex" && issue.pattern !== undefined) {
        return invalidRequest(
          `Invalid '${name}': string does not match pattern. Expected a string that matches the pattern '${stripSlashes(issue.pattern)}'.`,
          param,
          "invalid_value",
        );
      }
      return invalidRequest(
        `Invalid '${name}': expected a string in '${issue.format}' format.`,
        param,
        "invalid_value",
      );

    case "invalid_key": {
      // zod puts the offending key itself at the end of the path; OpenAI names the container.
      const parentPath = path.slice(0, -1);
      const parentParam = parentPath.length === 0 ? null : formatParamPath(parentPath);
      const key = String(path[path.length - 1] ?? "");
      const inner = issue.issues[0];
      const detail =
        inner?.code === "invalid_format" && inner.format === "regex" && inner.pattern !== undefined
          ? ` Expected a key that matches the pattern '${stripSlashes(inner.pattern)}'.`
          : "";
      return invalidRequest(
        `Invalid key in '${parentParam ?? "body"}': '${key}'.${detail}`,
        parentParam,
        "invalid_value",
      );
    }

    case "not_multiple_of":
      return invalidRequest(
        `Invalid '${name}': expected a multiple of ${issue.divisor}, but got ${JSON.stringify(found.value)} instead.`,
        param,
        "invalid_value",
      );

    case "custom": {
      const params = issue.params ?? {};
      const customParam = typeof params.param === "string" ? params.param : param;
      const code = typeof params.code === "string" ? params.code : "invalid_value";
      return invalidRequest(issue.message, customParam, code);
    }

    default:
      return invalidRequest(`Invalid '${name}': ${issue.message}`, param, "invalid_value");
  }
}

function missingRequired(name: string): ApiError {
  return invalidRequest(`Missing required parameter: '${name}'.`, name, "missing_required_parameter");
}

function rangeError(
  issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall,
  name: string,
  param: string | null,
  value: unknown,
): ApiError {
  const above = issue.code === "too_big";
  const bound = above ? (issue as z.core.$ZodIssueTooBig).maximum : (issue as z.core.$ZodIssueTooSmall).minimum;
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case "number":
    case "int":
    case "bigint": {
      const kind = issue.origin === "int" || issue.message === INTEGER_TAG ? "integer" : "decimal";
      const op = above ? (inclusive ? "<=" : "<") : inclusive ? ">=" : ">";
      return invalidRequest(
        `Invalid '${name}': ${kind} ${above ? "above maximum" : "below minimum"} value. ` +
          `Expected a value ${op} ${String(bound)}, but got ${JSON.stringify(value)} instead.`,
        param,
        `${kind}_${above ? "above_max" : "below_min"}_value`,
      );
    }
    case "string": {
      const length = typeof value === "string" ? value.length : 0;
      return invalidRequest(
        `Invalid '${name}': string too ${above ? "long" : "short"}. ` +
          `Expected a string with ${above ? "maximum" : "minimum"} length ${String(bound)}, but got a string with length ${length} instead.`,
        param,
        above ? "string_above_max_length" : "string_below_min_length",
      );
    }
    case "array":
    case "set": {
      const length = Array.isArray(value) ? value.length : 0;
      if (!above && length === 0) {
        return invalidRequest(
          `Invalid '${name}': empty array. Expected an array with minimum length ${String(bound)}, but got an empty array instead.`,
          param,
          "empty_array",
        );
      }
      return invalidRequest(
        `Invalid '${name}': array too ${above ? "long" : "short"}. ` +
          `Expected an array with ${above ? "maximum" : "minimum"} length ${String(bound)}, but got an array with length ${length} instead.`,
        param,
        above ? "array_above_max_length" : "array_below_min_length",
      );
    }
    default:
      return invalidRequest(`Invalid '${name}': value ${above ? "too large" : "too small"}.`, param, "invalid_value");
  }
}

function unionError(
  issue: Extract<Issue, { code: "invalid_union" }>,
  body: unknown,
  path: readonly PathKey[],
  name: string,
  param: string | null,
  found: Found,
): ApiError {
  if (issue.discriminator !== undefined && issue.errors.length === 0) {
    // A discriminated union whose tag (role, type) matched no option; zod's path ends at the tag.
    if (!found.present) return missingRequired(name);
    const options = ("options" in issue ? (issue.options ?? []) : []).map(quote);
    return invalidRequest(
      `Invalid value: ${quote(found.value)}. Supported values are: ${listWithAnd(options)}.`,
      param,
      "invalid_value",
    );
  }
  if (!found.present) return missingRequired(name);
  // A branch that failed deeper than "wrong type at the top" is the one the client meant (e.g.
  // `stop` given as an array with 5 items): report its first problem rather than a type list.
  for (const branch of issue.errors) {
    const meant = branch.find((i) => !(i.code === "invalid_type" && i.path.length === 0));
    if (meant !== undefined) return issueToApiError(meant, body, path);
  }
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const i of branch) if (i.code === "invalid_type") expected.add(expectedPhrase(expectedOf(i)));
  }
  const list = [...expected];
  const phrase = list.length === 1 ? list[0] : `one of ${listWithOr(list)}`;
  return invalidRequest(
    `Invalid type for '${name}': expected ${phrase}, but got ${describeValue(found.value)} instead.`,
    param,
    "invalid_type",
  );
}

interface Found {
  present: boolean;
  value: unknown;
}

function lookup(body: unknown, path: readonly PathKey[]): Found {
  let current: unknown = body;
  for (const key of path) {
    if (current === null || typeof current !== "object") return { present: false, value: undefined };
    const container = current as Record<PropertyKey, unknown>;
    if (!Object.hasOwn(container, key)) return { present: false, value: undefined };
    current = container[key];
  }
  return { present: current !== undefined, value: current };
}

function expectedOf(issue: z.core.$ZodIssueInvalidType): string {
  return issue.expected === "number" && issue.message === INTEGER_TAG ? "int" : issue.expected;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "boolean":
      return "a boolean";
    case "number":
      return Number.isInteger(value) ? "an integer" : "a decimal";
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

function expectedPhrase(expected: string): string {
  switch (expected) {
    case "string":
      return "a string";
    case "number":
      return "a decimal";
    case "int":
    case "bigint":
      return "an integer";
    case "boolean":
      return "a boolean";
    case "array":
    case "tuple":
      return "an array";
    case "object":
    case "record":
    case "map":
      return "an object";
    case "null":
      return "null";
    default:
      return `a ${expected}`;
  }
}

function quote(value: unknown): string {
  return typeof value === "string" ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}

function listWithAnd(items: readonly string[]): string {
  return joinList(items, "and");
}

function listWithOr(items: readonly string[]): string {
  return joinList(items, "or");
}

function joinList(items: readonly string[], conjunction: string): string {
  if (items.length <= 1) return items.join("");
  if (items.length === 2) return `${items[0]} ${conjunction} ${items[1]}`;
  return `${items.slice(0, -1).join(", ")}, ${conjunction} ${items[items.length - 1]}`;
}

function stripSlashes(pattern: string): string {
  const m = /^\/(.*)\/[a-z]*$/s.exec(pattern);
  return m?.[1] ?? pattern;
}
