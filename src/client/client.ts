// The Lavash client: one class, one method per endpoint, typed from the server's own schemas.
import { ChatCompletionAccumulator, CompletionAccumulator } from "./accumulate.js";
import { Stream, type Accumulator } from "./stream.js";
import { Transport, type RequestOptions } from "./transport.js";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  Completion,
  CompletionCreateParams,
  DetokenizeParams,
  DetokenizeResponse,
  EmbeddingCreateParams,
  EmbeddingList,
  EmbeddingResponse,
  ModelList,
  ModelObject,
  StreamedChatCompletion,
  TokenizeParams,
  TokenizeResponse,
} from "./types.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1";
export const DEFAULT_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_RETRIES = 2;

export interface ClientOptions {
  /** Default: $LAVASH_BASE_URL, else http://127.0.0.1:8080/v1. */
  baseURL?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Default: $LAVASH_API_KEY; none when unset (an open server). */
  apiKey?: string | null;
  /**
   * Milliseconds (default 600 000). A request must be answered in full within it; a stream must
   * send its headers within it, and then never stay silent that long (the server sends a
   * keepalive every 15 s). Each retry gets the whole timeout again. 0 or Infinity: no limit.
   */
  timeout?: number;
  /** Retries after a connection error, a timeout, 408, 409, 429 or 5xx (default 2). */
  maxRetries?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export type ChatCompletionStream = Stream<ChatCompletionChunk, StreamedChatCompletion>;
export type CompletionStream = Stream<Completion, Completion>;

export class Lavash {
  readonly baseURL: string;
  /** baseURL without its trailing `/v1`: /tokenize and /detokenize live at the server's root. */
  readonly rootURL: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly chat: { readonly completions: ChatCompletionsResource };
  readonly completions: CompletionsResource;
  readonly models: ModelsResource;
  readonly embeddings: EmbeddingsResource;
  private readonly transport: Transport;

  constructor(options: ClientOptions = {}) {
    this.baseURL = (options.baseURL ?? env("LAVASH_BASE_URL") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.rootURL = this.baseURL.replace(/\/v1$/, "");
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    const apiKey = options.apiKey === undefined ? env("LAVASH_API_KEY") : (options.apiKey ?? undefined);
    // Called through a wrapper: a bare `fetch` reference must keep globalThis as its `this`.
    const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.transport = new Transport({ apiKey, timeout: this.timeout, maxRetries: this.maxRetries, fetch: fetchImpl });
    this.chat = { completions: new ChatCompletionsResource(this.transport, this.baseURL) };
    this.completions = new CompletionsResource(this.transport, this.baseURL);
    this.models = new ModelsResource(this.transport, this.baseURL);
    this.embeddings = new EmbeddingsResource(this.transport, this.baseURL);
  }

  /** POST /tokenize (vLLM's endpoint, at the server's root): a prompt's or a chat's token ids. */
  tokenize(body: TokenizeParams, options?: RequestOptions): Promise<TokenizeResponse> {
    return this.transport.json({ method: "POST", url: `${this.rootURL}/tokenize`, body }, options);
  }

  /** POST /detokenize (at the server's root): token ids back to text. */
  detokenize(body: DetokenizeParams, options?: RequestOptions): Promise<DetokenizeResponse> {
    return this.transport.json({ method: "POST", url: `${this.rootURL}/detokenize`, body }, options);
  }
}

/** create() of a generation endpoint: the response, or with `stream: true` a Stream of its chunks. */
export interface CreateGeneration<Params, Full, Chunk, Final> {
  (body: Params & { stream?: false | null }, options?: RequestOptions): Promise<Full>;
  (body: Params & { stream: true }, options?: RequestOptions): Promise<Stream<Chunk, Final>>;
  (body: Params, options?: RequestOptions): Promise<Full | Stream<Chunk, Final>>;
}

/** An endpoint group: the transport, and the base URL its paths hang from. */
abstract class Resource {
  constructor(
    protected readonly transport: Transport,
    protected readonly baseURL: string,
  ) {}

  /** The create() of a generation endpoint; `accumulator` folds a stream's chunks into `Final`. */
  protected generation<Params extends { stream?: boolean | null }, Full, Chunk, Final>(
    path: string,
    accumulator: (body: Params) => Accumulator<Chunk, Final>,
  ): CreateGeneration<Params, Full, Chunk, Final> {
    const url = `${this.baseURL}${path}`;
    const create = (body: Params, options?: RequestOptions): Promise<Full | Stream<Chunk, Final>> =>
      body.stream === true
        ? openStream(this.transport, url, body, options, accumulator(body))
        : this.transport.json<Full>({ method: "POST", url, body }, options);
    // The overloads only narrow the result by `stream`, which is what the body above branches on.
    return create as CreateGeneration<Params, Full, Chunk, Final>;
  }
}

export class ChatCompletionsResource extends Resource {
  /** POST /v1/chat/completions; with `stream: true` a Stream of chunks. */
  readonly create: CreateGeneration<
    ChatCompletionCreateParams,
    ChatCompletion,
    ChatCompletionChunk,
    StreamedChatCompletion
  > = this.generation("/chat/completions", (body) => new ChatCompletionAccumulator(body));
}

export class CompletionsResource extends Resource {
  /** POST /v1/completions (legacy text completions); with `stream: true` a Stream of chunks. */
  readonly create: CreateGeneration<CompletionCreateParams, Completion, Completion, Completion> = this.generation(
    "/completions",
    (body) => new CompletionAccumulator(body),
  );
}

export class ModelsResource extends Resource {
  /** GET /v1/models */
  list(options?: RequestOptions): Promise<ModelList> {
    return this.transport.json({ method: "GET", url: `${this.baseURL}/models` }, options);
  }

  /** GET /v1/models/{id}; an id may contain "/" (it is sent encoded). */
  retrieve(id: string, options?: RequestOptions): Promise<ModelObject> {
    return this.transport.json({ method: "GET", url: `${this.baseURL}/models/${encodeURIComponent(id)}` }, options);
  }
}

export class EmbeddingsResource extends Resource {
  /** POST /v1/embeddings; vectors are number[] unless `encoding_format: "base64"` (then strings, as sent). */
  create(
    body: EmbeddingCreateParams & { encoding_format: "base64" },
    options?: RequestOptions,
  ): Promise<EmbeddingResponse<string>>;
  create(
    body: EmbeddingCreateParams & { encoding_format?: "float" | null },
    options?: RequestOptions,
  ): Promise<EmbeddingResponse<number[]>>;
  create(body: EmbeddingCreateParams, options?: RequestOptions): Promise<EmbeddingList>;
  create(body: EmbeddingCreateParams, options?: RequestOptions): Promise<EmbeddingList> {
    return this.transport.json({ method: "POST", url: `${this.baseURL}/embeddings`, body }, options);
  }
}

async function openStream<Chunk, Final>(
  transport: Transport,
  url: string,
  body: unknown,
  options: RequestOptions | undefined,
  accumulator: Accumulator<Chunk, Final>,
): Promise<Stream<Chunk, Final>> {
  const { response, attempt } = await transport.send({ method: "POST", url, body, stream: true }, options);
  return new Stream(response, attempt, accumulator);
}

function env(name: string): string | undefined {
  const value = typeof process === "undefined" ? undefined : process.env[name];
  return value === undefined || value === "" ? undefined : value;
}
