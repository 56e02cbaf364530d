// The local engine: GGUF models run by llama.cpp through node-llama-cpp, each model with one
// context of `parallel` sequences driven by one ContextScheduler.
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { EventChannel } from "../event-channel.js";
import { EngineError } from "../errors.js";
import type {
  Engine,
  EngineState,
  EngineStatus,
  GenerateRequest,
  Generation,
  GenerationEvent,
  ModelInfo,
  TokenizeInput,
  TokenizeResult,
  EmbeddingInput,
  EmbeddingResult,
} from "../types.js";
import { ChatPromptRenderer } from "./chat-prompt.js";
import { ModelEmbeddings } from "./embeddings.js";
import { detokenizeTokens, tokenizeInput } from "./tokenizer-ops.js";
import { resolveModelPath, type ModelSpec, type ResolveProgress } from "./model-source.js";
import { nativeGrammarState, type NativeSamplerConfig } from "./native.js";
import { ResponseGrammars } from "./response-grammar.js";
import { samplerConfigs } from "./sampler-config.js";
import { ContextScheduler } from "./scheduler.js";
import type { Job } from "./sequence.js";
import { TokenPieces } from "./token-pieces.js";

export interface EngineLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface LlamaEngineOptions {
  models: ModelSpec[];
  /** Positions per sequence. */
  contextSize: number;
  parallel: number;
  threads: number;
  batchSize: number;
  prefillChunk: number;
  maxQueue: number;
  gpu: "auto" | "cuda" | "vulkan" | "metal" | false;
  cacheDir?: string;
  logger: EngineLogger;
  onProgress?: (model: string, progress: ResolveProgress) => void;
}

interface LoadedModel {
  info: ModelInfo;
  grammars: ResponseGrammars;
  model: LlamaModel;
  vocabularySize: number;
  context: LlamaContext;
  prompt: ChatPromptRenderer;
  scheduler: ContextScheduler;
}

export class LlamaEngine implements Engine {
  private currentState: EngineState = "loading";
  /** Unix seconds: the `created` of models still loading. */
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private llama: Llama | null = null;
  private readonly loaded = new Map<string, LoadedModel>();
  /** Per model, created on its first embedding request. */
  private readonly embedders = new Map<string, ModelEmbeddings>();
  /** Resolves when every model is loaded; rejects (and state becomes "failed") otherwise. */
  readonly ready: Promise<void>;

  constructor(private readonly options: LlamaEngineOptions) {
    this.ready = this.loadAll();
    this.ready.catch(() => undefined); // observed through `state` and by whoever awaits `ready`
  }

  get state(): EngineState {
    return this.currentState;
  }

  listModels(): ModelInfo[] {
    return this.options.models.map((spec) => this.loaded.get(spec.id)?.info ?? { id: spec.id, created: this.createdAt, ownedBy: "lavash" });
  }

  getModel(id: string): ModelInfo | undefined {
    return this.listModels().find((m) => m.id === id);
  }

  async generate(request: GenerateRequest): Promise<Generation> {
    if (!this.options.models.some((m) => m.id === request.model))
      throw new EngineError("model_not_found", `The model \`${request.model}\` does not exist or you do not have access to it.`, "model");
    const entry = this.loaded.get(request.model);
    if (!entry) throw new EngineError("not_ready", `The model \`${request.model}\` is still loading; retry shortly.`);

    const promptTokens = this.tokenizePrompt(entry, request);
    const contextSize = entry.scheduler.contextSize;
    const param = request.prompt.kind === "chat" ? "messages" : "prompt";
    const where = request.prompt.kind === "chat" ? "messages" : "prompt";
    if (promptTokens.length >= contextSize)
      throw new EngineError(
        "context_length_exceeded",
        `This model's maximum context length is ${contextSize} tokens. However, your ${where} resulted in ${promptTokens.length} tokens. Please reduce the length of the ${where}.`,
        param,
      );
    if (request.maxTokens !== null && promptTokens.length + request.maxTokens > contextSize)
      throw new EngineError(
        "context_length_exceeded",
        `This model's maximum context length is ${contextSize} tokens. However, you requested ${promptTokens.length + request.maxTokens} tokens ` +
          `(${promptTokens.length} in the ${where}, ${request.maxTokens} in the completion). Please reduce the length of the ${where} or completion.`,
        param,
      );

    const n = request.n ?? 1;
    const maxTokens = request.maxTokens ?? contextSize - promptTokens.length;
    const job: Job = {
      promptTokens,
      maxTokens,
      stop: request.stop.filter((s) => s.length > 0),
      samplers: await this.withGrammar(entry, request, samplerConfigs(request.sampling, n, { promptTokens, maxTokens, vocabularySize: entry.vocabularySize })),
      logprobs: request.logprobs ?? null,
      scoreChoices: request.scoreChoices ?? false,
      echo: request.echo ?? false,
      channel: new EventChannel<GenerationEvent>(() => cancel()),
      cancelled: false,
      waiting: Array.from({ length: n }, (_, i) => i),
      promptReady: false,
      running: 0,
      finished: 0,
      completionTokens: 0,
      cachedPromptTokens: 0,
    };
    const cancel = (): void => {
      if (job.cancelled) return;
      job.cancelled = true;
      entry.scheduler.wakeUp();
    };
    if (request.signal?.aborted) throw new EngineError("aborted", "The request was cancelled.");
    request.signal?.addEventListener("abort", cancel, { once: true });
    entry.scheduler.submit(job);
    return Object.assign(job.channel, { promptTokens: promptTokens.length });
  }

  status(): EngineStatus {
    const schedulers = [...this.loaded.values()].map((m) => m.scheduler);
    const stats = { decodeSteps: 0, sequencesDecoded: 0, promptTokensEvaluated: 0, tokensGenerated: 0 };
    for (const s of schedulers) for (const key of Object.keys(stats) as (keyof typeof stats)[]) stats[key] += s.stats[key];
    return {
      state: this.currentState,
      models: this.options.models.map((m) => m.id),
      sequences: schedulers.flatMap((s) => s.sequenceStatus()),
      queued: schedulers.reduce((n, s) => n + s.queued, 0),
      stats,
    };
  }

  async tokenize(model: string, input: TokenizeInput): Promise<TokenizeResult> {
    const entry = this.loadedModel(model);
    return { tokens: tokenizeInput(entry.model, entry.prompt, input), contextSize: entry.scheduler.contextSize };
  }

  async detokenize(model: string, tokens: number[]): Promise<string> {
    const entry = this.loadedModel(model);
    return detokenizeTokens(entry.model, entry.vocabularySize, tokens);
  }

  async embed(model: string, input: EmbeddingInput): Promise<EmbeddingResult> {
    const entry = this.loadedModel(model);
    let embedder = this.embedders.get(model);
    if (!embedder) {
      const { contextSize, batchSize, threads } = this.options;
      embedder = new ModelEmbeddings(model, entry.model, entry.vocabularySize, { contextSize, batchSize, threads });
      this.embedders.set(model, embedder);
    }
    return embedder.embed(input);
  }

  private loadedModel(id: string): LoadedModel {
    if (!this.options.models.some((m) => m.id === id))
      throw new EngineError("model_not_found", `The model \`${id}\` does not exist or you do not have access to it.`, "model");
    const entry = this.loaded.get(id);
    if (!entry) throw new EngineError("not_ready", `The model \`${id}\` is still loading; retry shortly.`);
    return entry;
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    for (const embedder of this.embedders.values()) await embedder.dispose();
    this.embedders.clear();
    for (const entry of this.loaded.values()) {
      await entry.scheduler.close();
      await entry.context.dispose();
      await entry.model.dispose();
    }
    this.loaded.clear();
    await this.llama?.dispose();
  }

  /** Each choice gets its own grammar state: it advances with the tokens that choice accepts. */
  private async withGrammar(entry: LoadedModel, request: GenerateRequest, configs: NativeSamplerConfig[]): Promise<NativeSamplerConfig[]> {
    if (!request.responseFormat) return configs;
    const grammar = await entry.grammars.grammarFor(request.responseFormat);
    return configs.map((c) => ({ ...c, grammarEvaluationState: nativeGrammarState(entry.model, grammar) }));
  }

  private tokenizePrompt(entry: LoadedModel, request: GenerateRequest): Token[] {
    const prompt = request.prompt;
    let tokens: Token[];
    if (prompt.kind === "chat") tokens = entry.prompt.render(prompt.messages);
    else if (prompt.kind === "tokens") {
      for (const t of prompt.tokens)
        if (!Number.isInteger(t) || t < 0 || t >= entry.vocabularySize)
          throw new EngineError("invalid_request", `Invalid token id ${t} in 'prompt': the vocabulary has ids 0..${entry.vocabularySize - 1}.`, "prompt");
      tokens = prompt.tokens as Token[];
    } else if (prompt.suffix !== undefined) tokens = this.infillTokens(entry, prompt.text, prompt.suffix);
    else tokens = entry.model.tokenize(prompt.text, false);
    if (tokens.length > 0) return tokens;
    // An empty prompt still needs one token to condition on: the document boundary, as OpenAI's
    // default prompt "<|endoftext|>" does.
    const boundary = entry.model.tokens.bos ?? entry.model.tokens.eos;
    if (boundary === null) throw new EngineError("invalid_request", "The prompt is empty.", "prompt");
    return [boundary];
  }

  /** Fill-in-the-middle in the prefix-suffix-middle order the FIM-trained models use. */
  private infillTokens(entry: LoadedModel, prefix: string, suffix: string): Token[] {
    const { prefix: pre, suffix: suf, middle: mid } = entry.model.tokens.infill;
    if (pre === null || suf === null || mid === null)
      throw new EngineError("unsupported", `The model \`${entry.info.id}\` has no fill-in-the-middle tokens, so 'suffix' is not supported.`, "suffix");
    return [pre, ...entry.model.tokenize(prefix, false), suf, ...entry.model.tokenize(suffix, false), mid];
  }

  private async loadAll(): Promise<void> {
    const { logger } = this.options;
    try {
      this.llama = await getLlama({
        gpu: this.options.gpu,
        logLevel: LlamaLogLevel.warn,
        logger: (level, message) => {
          const text = message.trimEnd();
          if (text.length === 0) return;
          if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error(`llama.cpp: ${text}`);
          else logger.warn(`llama.cpp: ${text}`);
        },
      });
      for (const spec of this.options.models) await this.loadOne(this.llama, spec);
      this.currentState = "ready";
    } catch (error) {
      this.currentState = "failed";
      logger.error(`Loading failed: ${(error as Error).message}`);
      throw error;
    }
  }

  private async loadOne(llama: Llama, spec: ModelSpec): Promise<void> {
    const { options } = this;
    const path = await resolveModelPath(spec.source, {
      cacheDir: options.cacheDir,
      onProgress: (p) => options.onProgress?.(spec.id, p),
    });
    options.logger.info(`Loading model '${spec.id}' from ${path}`);
    const model = await llama.loadModel({
      modelPath: path,
      gpuLayers: options.gpu === false ? 0 : "auto",
      onLoadProgress: (fraction) => options.onProgress?.(spec.id, { stage: "load", fraction }),
    });
    const context = await model.createContext({
      sequences: options.parallel,
      contextSize: options.contextSize,
      batchSize: options.batchSize,
      threads: options.threads,
    });
    const pieces = new TokenPieces(model);
    const scheduler = new ContextScheduler(llama, model, context, pieces, spec.id, {
      parallel: options.parallel,
      contextSize: context.contextSize,
      batchSize: context.batchSize,
      prefillChunk: options.prefillChunk,
      maxQueue: options.maxQueue,
    });
    const prompt = new ChatPromptRenderer(model);
    const info = { id: spec.id, created: Math.floor(Date.now() / 1000), ownedBy: "lavash" };
    const vocabularySize = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
    this.loaded.set(spec.id, { info, grammars: new ResponseGrammars(llama), model, vocabularySize, context, prompt, scheduler });
    options.logger.info(
      `Model '${spec.id}' ready: ${model.fileInfo.metadata.general.architecture}, ${(model.size / 1e6).toFixed(0)} MB, ` +
        `chat template ${prompt.templateName}, ${options.parallel} sequences x ${context.contextSize} tokens, ${options.threads} threads`,
    );
  }
}

