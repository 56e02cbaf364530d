// The local engine: GGUF models run by llama.cpp through node-llama-cpp, each model with one
// context of `parallel` sequences driven by one ContextScheduler.
import {
  getLlama,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { EventChannel, MappedEventChannel } from "../event-channel.js";
import { EngineError, type EngineField } from "../errors.js";
import type {
  CacheMatch,
  CacheMatchRequest,
  Engine,
  EngineState,
  EngineRuntime,
  EngineStatus,
  GenerateRequest,
  Generation,
  GenerationEvent,
  ModelInfo,
  SamplingParams,
  ScalingRequest,
  ScalingSession,
  TokenizeInput,
  TokenizeResult,
  EmbeddingInput,
  EmbeddingResult,
} from "../types.js";
import { ChatPromptRenderer } from "./chat-prompt.js";
import { ModelEmbeddings } from "./embeddings.js";
import {
  checkPromptBytes,
  detokenizeTokens,
  longestTokenBytes,
  tokenizeInput,
  utf8Bytes,
  type PromptBound,
} from "./tokenizer-ops.js";
import { checkModelSource, resolveModelPath, type ModelSpec, type ResolveProgress } from "./model-source.js";
import { nativeContext, nativeGrammarState, type NativeSamplerConfig } from "./native.js";
import { LlamaScalingSession } from "./scaling-session.js";
import { checkFits, estimateMemory, mmapWeights } from "./memory-estimate.js";
import { OutputGrammars } from "./output-grammar.js";
import { isReproducible, samplerConfigs } from "./sampler-config.js";
import { IdleClock } from "./idle-clock.js";
import { ContextScheduler } from "./scheduler.js";
import { newJob, type LazyGrammar } from "./sequence.js";
import { ChatChoiceOutputs } from "./tools/choice-output.js";
import { callsOpening, toolCallGbnf } from "./tools/call-grammar.js";
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
  /** See SchedulerOptions.prefillChunk. */
  prefillChunk: number | "auto";
  maxQueue: number;
  gpu: "auto" | "cuda" | "vulkan" | "metal" | false;
  cacheDir?: string;
  /** Seconds a model may stay idle before it is unloaded (reloaded on its next request); absent: never. */
  keepAlive?: number;
  /** Layers of every model offloaded to the GPU unless a model says otherwise; absent: "auto" (what fits). */
  gpuLayers?: number | "auto";
  /**
   * true: nothing loads until start(). A server binds its port first, so that a port in use
   * fails at once, before minutes of loading.
   */
  deferLoading?: boolean;
  logger: EngineLogger;
  onProgress?: (model: string, progress: ResolveProgress) => void;
  /** See SchedulerOptions.arriving: the server's count of requests it is still reading. */
  arriving?: () => number;
}

interface LoadedModel {
  info: ModelInfo;
  grammars: OutputGrammars;
  model: LlamaModel;
  vocabularySize: number;
  /** See longestTokenBytes: prompts are measured against it before they are tokenized. */
  longestTokenBytes: number | null;
  context: LlamaContext;
  prompt: ChatPromptRenderer;
  scheduler: ContextScheduler;
}

export class LlamaEngine implements Engine {
  private currentState: EngineState = "loading";
  /** Unix seconds: the `created` of models still loading. */
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private llama: Llama | null = null;
  /** Read once at load: the Llama object refuses every getter once it is disposed (close()). */
  private runtime: EngineRuntime | null = null;
  /** Models served (loaded or not), in order. */
  private readonly specs = new Map<string, ModelSpec>();
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private readonly idleClock: IdleClock;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  /** Per model, created on its first embedding request. */
  private readonly embedders = new Map<string, ModelEmbeddings>();
  /** Resolves when every model is loaded; rejects (and state becomes "failed") otherwise. */
  readonly ready: Promise<void>;
  private begin: () => void = () => undefined;
  private started = false;

  constructor(private readonly options: LlamaEngineOptions) {
    for (const spec of options.models) this.specs.set(spec.id, spec);
    this.idleClock = new IdleClock((options.keepAlive ?? 0) * 1000);
    this.ready = new Promise<void>((resolve) => (this.begin = resolve)).then(() => this.loadAll());
    this.ready.catch(() => undefined); // observed through `state` and by whoever awaits `ready`
    if (options.deferLoading !== true) this.start();
  }

  /** Starts loading the models (at construction unless deferLoading); `ready` tells the outcome. */
  start(): void {
    this.started = true;
    this.begin();
  }

  get state(): EngineState {
    return this.currentState;
  }

  listModels(): ModelInfo[] {
    return [...this.specs.keys()].map(
      (id) => this.loaded.get(id)?.info ?? { id, created: this.createdAt, ownedBy: "lavash" },
    );
  }

  getModel(id: string): ModelInfo | undefined {
    return this.listModels().find((m) => m.id === id);
  }

  async generate(request: GenerateRequest): Promise<Generation> {
    const entry = await this.loadedModel(request.model);

    const promptTokens = this.tokenizePrompt(entry, request);
    const contextSize = entry.scheduler.contextSize;
    checkContextFits(request, promptTokens.length, contextSize);

    const n = request.n ?? 1;
    const maxTokens = request.maxTokens ?? contextSize - promptTokens.length;
    const job = newJob(
      {
        promptTokens,
        maxTokens,
        stop: request.stop.filter((s) => s.length > 0),
        samplers: await this.withGrammar(
          entry,
          request,
          samplerConfigs(request.sampling, n, { promptTokens, maxTokens, vocabularySize: entry.vocabularySize }),
        ),
        lazyGrammar: this.lazyToolGrammar(entry, request),
        logprobs: request.logprobs ?? null,
        scoreChoices: request.scoreChoices ?? false,
        echo: request.echo ?? false,
        reproducible: isReproducible(request.sampling),
        channel: this.eventChannel(entry, request, () => cancel()),
      },
      n,
    );
    const cancel = (): void => {
      if (job.cancelled) return;
      job.cancelled = true;
      entry.scheduler.wakeUp();
    };
    if (request.signal?.aborted) throw new EngineError("aborted", "The request was cancelled.");
    request.signal?.addEventListener("abort", cancel, { once: true });
    entry.scheduler.submit(job, request.continuesAcceptedRequest === true);
    return Object.assign(job.channel, { promptTokens: promptTokens.length });
  }

  status(): EngineStatus {
    const schedulers = [...this.loaded.values()].map((m) => m.scheduler);
    const stats = { decodeSteps: 0, sequencesDecoded: 0, promptTokensEvaluated: 0, tokensGenerated: 0 };
    for (const s of schedulers)
      for (const key of Object.keys(stats) as (keyof typeof stats)[]) stats[key] += s.stats[key];
    return {
      state: this.currentState,
      models: [...this.specs.keys()],
      sequences: schedulers.flatMap((s) => s.sequenceStatus()),
      queued: schedulers.reduce((n, s) => n + s.queued, 0),
      stats,
      ...(this.runtime ? { runtime: this.runtime } : {}),
    };
  }

  async startScaling(request: ScalingRequest): Promise<ScalingSession> {
    const entry = await this.loadedModel(request.model);
    const promptTokens = this.tokenizePrompt(entry, request);
    const contextSize = entry.scheduler.contextSize;
    checkContextFits(request, promptTokens.length, contextSize);
    const maxTokens = request.maxTokens ?? contextSize - promptTokens.length;
    request.admit?.(promptTokens.length, maxTokens);
    const [proposal] = samplerConfigs(checkScalingSampling(request.sampling), 1, {
      promptTokens,
      maxTokens,
      vocabularySize: entry.vocabularySize,
    });
    const session = new LlamaScalingSession({
      llama: this.llama!,
      model: entry.model,
      native: nativeContext(entry.context),
      scheduler: entry.scheduler,
      promptTokens,
      maxTokens,
      proposal: { ...proposal!, temperature: request.sampling.temperature, seed: proposal!.seed! },
      entropy: request.entropy,
      reuseKvCache: request.reuseKvCache !== false,
      signal: request.signal,
      detokenize: (tokens) => entry.model.detokenize(tokens.filter((t) => !entry.model.isEogToken(t))),
    });
    await session.start();
    return session;
  }

  async matchCache(request: CacheMatchRequest): Promise<CacheMatch> {
    if (!this.specs.has(request.model))
      throw new EngineError("model_not_found", `model '${request.model}' is not served`, "model");
    // Not loadedModel(): a probe must neither load an unloaded model nor keep one alive.
    const entry = this.loaded.get(request.model);
    if (!entry)
      throw new EngineError("not_ready", `The model \`${request.model}\` is not loaded: nothing of it is cached.`);
    const promptTokens = this.tokenizePrompt(entry, request);
    checkContextFits(request, promptTokens.length, entry.scheduler.contextSize);
    const scratch = request.echo === true && request.logprobs !== undefined;
    // A probe without sampling parameters counts as reproducible: it then says at most one token less.
    const reproducible = request.sampling ? isReproducible(request.sampling) : true;
    return {
      promptTokens: promptTokens.length,
      cachedTokens: entry.scheduler.cachedPrefix(promptTokens, scratch, reproducible),
    };
  }

  async tokenize(model: string, input: TokenizeInput): Promise<TokenizeResult> {
    const entry = await this.loadedModel(model);
    const contextSize = entry.scheduler.contextSize;
    // Counting is what /tokenize is for, so it counts past the context; but not text that cannot
    // fit it at all (the tokenizer would block the event loop on it for seconds).
    const bound: PromptBound = {
      contextSize,
      longestTokenBytes: entry.longestTokenBytes,
      field: input.kind === "text" ? "prompt" : "prompt.messages",
    };
    return {
      tokens: tokenizeInput(entry.model, entry.prompt, input, (bytes) => checkPromptBytes(bytes, bound)),
      contextSize,
    };
  }

  async detokenize(model: string, tokens: number[]): Promise<string> {
    const entry = await this.loadedModel(model);
    return detokenizeTokens(entry.model, entry.vocabularySize, tokens);
  }

  async embed(model: string, input: EmbeddingInput): Promise<EmbeddingResult> {
    const entry = await this.loadedModel(model);
    let embedder = this.embedders.get(model);
    if (!embedder) {
      const { contextSize, batchSize, threads } = this.options;
      embedder = new ModelEmbeddings(model, entry.model, entry.vocabularySize, {
        contextSize,
        batchSize,
        threads,
        longestTokenBytes: entry.longestTokenBytes,
      });
      this.embedders.set(model, embedder);
    }
    return embedder.embed(input);
  }

  /** The model, loaded again first if it was unloaded (idle or by an admin); marks it used. */
  private async loadedModel(id: string): Promise<LoadedModel> {
    if (!this.specs.has(id)) throw new EngineError("model_not_found", `model '${id}' is not served`, "model");
    this.idleClock.touch(id);
    const entry = this.loaded.get(id);
    if (entry) return entry;
    // During startup the server answers 503 (clients retry); later a request waits for a reload.
    if (this.currentState === "failed")
      throw new EngineError("not_ready", "The models failed to load; see the server log.");
    if (this.currentState !== "ready" || this.llama === null)
      throw new EngineError("not_ready", `The model \`${id}\` is still loading; retry shortly.`);
    return this.load(id);
  }

  /** Adds a model (admin) and loads it; an id already served from another source is refused. */
  async loadModel(request: Omit<ModelSpec, "source"> & { source?: string }): Promise<ModelInfo> {
    this.start();
    await this.ready;
    const known = this.specs.get(request.id);
    if (!known && request.source === undefined)
      throw new EngineError(
        "model_not_found",
        `model '${request.id}' is not configured and no source was given`,
        "model",
      );
    if (known && request.source !== undefined && known.source !== request.source)
      throw new EngineError(
        "invalid_request",
        `A model named '${request.id}' is already served from ${known.source}: unload it with forget first, or choose another name.`,
        "model",
      );
    const spec = known ?? (request as ModelSpec);
    this.specs.set(spec.id, spec);
    // A failure drops the model from the list (load() does, or here when it was never served):
    // it is not left "loading".
    try {
      return (await this.load(spec.id)).info;
    } catch (error) {
      if (!known && this.specs.get(spec.id) === spec) this.specs.delete(spec.id);
      throw error;
    }
  }

  /**
   * Frees a model's memory. Requests running on it end with an error; with `forget` it is no
   * longer served, otherwise its next request loads it again.
   */
  async unloadModel(id: string, forget = false): Promise<void> {
    if (!this.specs.has(id)) throw new EngineError("model_not_found", `model '${id}' is not served`, "model");
    await this.loading.get(id)?.catch(() => undefined);
    const entry = this.loaded.get(id);
    if (forget) this.specs.delete(id);
    if (!entry) return;
    this.loaded.delete(id);
    await this.embedders.get(id)?.dispose();
    this.embedders.delete(id);
    await entry.scheduler.close();
    await entry.context.dispose();
    await entry.model.dispose();
    this.options.logger.info(`Model '${id}' unloaded`);
  }

  private load(id: string): Promise<LoadedModel> {
    let pending = this.loading.get(id);
    if (!pending) {
      const spec = this.specs.get(id)!;
      pending = this.loadOne(this.llama!, spec)
        .catch((error: unknown) => {
          throw this.loadFailed(spec, error);
        })
        .finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  /**
   * After serving started, a model that cannot load (admin load, reload after keep-alive or
   * unload) stops being listed, so that clients are not sent to it forever; not for lack of
   * memory, which may free up (its requests get a 503 with the numbers meanwhile).
   */
  private loadFailed(spec: ModelSpec, error: unknown): EngineError {
    const failure = asLoadFailure(spec.id, error);
    if (this.currentState === "loading") return failure;
    if (failure instanceof ModelDoesNotFit) {
      this.options.logger.error(failure.message);
      return failure;
    }
    if (this.specs.get(spec.id) === spec) this.specs.delete(spec.id);
    this.options.logger.error(`${failure.message}; it is no longer served (POST /models/load adds it back)`);
    return failure;
  }

  /** Unloads models idle for longer than keepAlive seconds (nothing running or queued). */
  private startKeepAlive(): void {
    const seconds = this.options.keepAlive;
    if (seconds === undefined || seconds <= 0) return;
    this.keepAliveTimer = setInterval(
      () => {
        for (const [id, entry] of this.loaded) {
          const busy =
            entry.scheduler.queued > 0 ||
            entry.scheduler.sequenceStatus().some((s) => s.state !== "idle") ||
            this.embedders.get(id)?.busy === true;
          if (this.idleClock.expired(id, busy)) {
            this.options.logger.info(`Model '${id}' idle for ${seconds} s: unloading (keep-alive)`);
            void this.unloadModel(id);
          }
        }
      },
      Math.min(seconds * 1000, 1000) / 2,
    );
    this.keepAliveTimer.unref();
  }

  async close(): Promise<void> {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    if (this.started) await this.ready.catch(() => undefined);
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

  /**
   * Each choice gets its own grammar state: it advances with the tokens that choice accepts.
   * tool_choice required or named: the calls' grammar from the first token; auto: see
   * lazyToolGrammar. Either way the tools' schemas are checked here, before anything runs.
   */
  private async withGrammar(
    entry: LoadedModel,
    request: GenerateRequest,
    configs: NativeSamplerConfig[],
  ): Promise<NativeSamplerConfig[]> {
    const calling = request.prompt.kind === "chat" ? request.prompt.tools : undefined;
    let gbnf: Promise<LlamaGrammar> | null = request.outputConstraint
      ? entry.grammars.grammarFor(request.outputConstraint)
      : null;
    if (calling) {
      // The endpoint refuses an output grammar beside tool_choice auto: the two would compete.
      if (request.outputConstraint && calling.toolChoice === "auto")
        throw new Error("internal: an output constraint with tool choice auto");
      // Building the text checks every tool's schema (a 400 before anything runs); auto compiles
      // its grammar only when a choice opens a call (lazyToolGrammar).
      const calls = toolCallGbnf(entry.prompt.toolSyntax, calling);
      if (calling.toolChoice !== "auto") gbnf = entry.grammars.compile(calls);
    }
    if (!gbnf) return configs;
    const grammar = await gbnf;
    return configs.map((c) => ({ ...c, grammarEvaluationState: nativeGrammarState(entry.model, grammar) }));
  }

  /** tool_choice auto: free text until the model opens a call, then the calls' grammar. */
  private lazyToolGrammar(entry: LoadedModel, request: GenerateRequest): LazyGrammar | undefined {
    const calling = request.prompt.kind === "chat" ? request.prompt.tools : undefined;
    if (calling?.toolChoice !== "auto") return undefined;
    const syntax = entry.prompt.toolSyntax;
    return {
      trigger: syntax.trigger,
      opening: callsOpening(syntax),
      stateAfter: async (written) =>
        nativeGrammarState(entry.model, await entry.grammars.compile(toolCallGbnf(syntax, calling, written))),
    };
  }

  /** Chat with tools or reasoning: text is split into content, reasoning and calls per choice. */
  private eventChannel(
    entry: LoadedModel,
    request: GenerateRequest,
    onReturn: () => void,
  ): EventChannel<GenerationEvent> {
    const chat = request.prompt.kind === "chat" ? request.prompt : null;
    if (!chat || (!chat.tools && !chat.separateReasoning)) return new EventChannel<GenerationEvent>(onReturn);
    const outputs = new ChatChoiceOutputs({
      syntax: chat.tools ? entry.prompt.toolSyntax : null,
      separateReasoning: chat.separateReasoning === true,
      namedChoice: typeof chat.tools?.toolChoice === "object",
    });
    return new MappedEventChannel<GenerationEvent>(onReturn, (e) => outputs.map(e));
  }

  private tokenizePrompt(entry: LoadedModel, request: Pick<GenerateRequest, "prompt" | "maxTokens">): Token[] {
    const prompt = request.prompt;
    const contextSize = entry.scheduler.contextSize;
    const bound: PromptBound = {
      contextSize,
      longestTokenBytes: entry.longestTokenBytes,
      field: prompt.kind === "chat" ? "prompt.messages" : "prompt",
    };
    const checkBytes = (bytes: number): void => checkPromptBytes(bytes, bound);
    let tokens: Token[];
    if (prompt.kind === "chat")
      tokens = entry.prompt.render(prompt.messages, { tools: prompt.tools?.tools, checkBytes });
    else if (prompt.kind === "tokens") {
      // Before the ids are read one by one: a list longer than the context is refused as it is.
      checkContextFits(request, prompt.tokens.length, contextSize);
      for (const t of prompt.tokens)
        if (!Number.isInteger(t) || t < 0 || t >= entry.vocabularySize)
          throw new EngineError(
            "token_out_of_vocabulary",
            `token id ${t} of the prompt is outside the vocabulary (0..${entry.vocabularySize - 1})`,
            "prompt.tokens",
            {
              reason: "token_out_of_vocabulary",
              token: t,
              vocabularySize: entry.vocabularySize,
            },
          );
      tokens = prompt.tokens as Token[];
    } else if (prompt.suffix !== undefined) {
      checkBytes(utf8Bytes([prompt.text, prompt.suffix]));
      tokens = this.infillTokens(entry, prompt.text, prompt.suffix);
    } else {
      checkBytes(utf8Bytes([prompt.text]));
      tokens = entry.model.tokenize(prompt.text, false);
    }
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
      throw new EngineError(
        "unsupported",
        `model '${entry.info.id}' has no fill-in-the-middle tokens`,
        "prompt.suffix",
        { reason: "no_infill_tokens", model: entry.info.id },
      );
    return [pre, ...entry.model.tokenize(prefix, false), suf, ...entry.model.tokenize(suffix, false), mid];
  }

  private async loadAll(): Promise<void> {
    const { logger } = this.options;
    try {
      for (const [id, spec] of this.specs) {
        try {
          checkModelSource(spec.source);
        } catch (error) {
          throw asLoadFailure(id, error);
        }
      }
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
      const runtime = describeRuntime(this.llama);
      this.runtime = runtime;
      logger.info(
        `llama.cpp ${runtime.llamaCpp}, ${runtime.binaries === "prebuilt" ? "prebuilt binaries" : "a local build (used instead of the prebuilt binaries while it exists)"}, GPU: ${runtime.gpu || "none"}; ${runtime.cpuFeatures}`,
      );
      for (const id of this.specs.keys()) await this.load(id);
      this.currentState = "ready";
      this.startKeepAlive();
    } catch (error) {
      // Not logged here: whoever awaits `ready` reports it (serve: as its last line, then exits).
      this.currentState = "failed";
      throw error;
    }
  }

  private async loadOne(llama: Llama, spec: ModelSpec): Promise<LoadedModel> {
    const { options } = this;
    const path = await resolveModelPath(spec.source, {
      cacheDir: options.cacheDir,
      onProgress: (p) => options.onProgress?.(spec.id, p),
    });
    const parallel = spec.parallel ?? options.parallel;
    const contextSize = spec.contextSize ?? options.contextSize;
    const threads = spec.threads ?? options.threads;
    const gpuLayers = options.gpu === false ? 0 : (spec.gpuLayers ?? options.gpuLayers ?? "auto");
    // "auto" offloads what fits, so only the CPU side is checked then.
    const shape = {
      contextSize,
      sequences: parallel,
      batchSize: options.batchSize,
      gpuLayers: gpuLayers === "auto" ? 0 : gpuLayers,
    };
    const estimate = await estimateMemory(llama, path, shape).catch((error: unknown) => {
      throw new EngineError(
        "load_failed",
        `${path} is not a model llama.cpp can read: ${(error as Error).message}`,
        "source",
      );
    });
    await checkFits(llama, spec.id, estimate, shape).catch((error: unknown) => {
      throw new ModelDoesNotFit((error as Error).message);
    });
    const useMmap = mmapWeights(llama.systemInfo, llama.gpu, gpuLayers);
    options.logger.info(
      `Loading model '${spec.id}' from ${path} (estimated ${(estimate.ram / 2 ** 20).toFixed(0)} MiB RAM` +
        `${useMmap === false ? "; weights read, not mapped: the CPU backend copies them into AMX buffers" : ""})`,
    );
    const model = await llama.loadModel({
      modelPath: path,
      gpuLayers,
      useMmap,
      onLoadProgress: (fraction) => options.onProgress?.(spec.id, { stage: "load", fraction }),
    });
    // A model whose context cannot be made must not stay in memory, unlisted.
    const context = await model
      .createContext({
        sequences: parallel,
        contextSize,
        batchSize: options.batchSize,
        threads,
      })
      .catch(async (error: unknown) => {
        await model.dispose();
        throw error;
      });
    const pieces = new TokenPieces(model);
    const scheduler = new ContextScheduler(llama, model, context, pieces, spec.id, {
      parallel,
      contextSize: context.contextSize,
      batchSize: context.batchSize,
      prefillChunk: options.prefillChunk,
      maxQueue: options.maxQueue,
      ...(options.arriving ? { arriving: options.arriving } : {}),
    });
    const prompt = new ChatPromptRenderer(model);
    const info = { id: spec.id, created: Math.floor(Date.now() / 1000), ownedBy: "lavash" };
    const vocabularySize = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
    const entry: LoadedModel = {
      info,
      grammars: new OutputGrammars(llama),
      model,
      vocabularySize,
      longestTokenBytes: longestTokenBytes(model),
      context,
      prompt,
      scheduler,
    };
    this.loaded.set(spec.id, entry);
    this.idleClock.touch(spec.id);
    options.logger.info(
      `Model '${spec.id}' ready: ${model.fileInfo.metadata.general.architecture}, ${(model.size / 1e6).toFixed(0)} MB, ` +
        `chat template ${prompt.templateName}, ${parallel} sequences x ${context.contextSize} tokens, ${threads} threads`,
    );
    return entry;
  }
}

/** The memory check refused the model: the one load failure that may pass by itself. */
class ModelDoesNotFit extends EngineError {
  constructor(message: string) {
    super("load_failed", message, "model");
  }
}

/** Any load failure as EngineError("load_failed") naming the model, with llama.cpp's reason. */
function asLoadFailure(id: string, error: unknown): EngineError {
  if (error instanceof ModelDoesNotFit) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new EngineError(
    "load_failed",
    `model '${id}' could not be loaded: ${reason}`,
    error instanceof EngineError ? error.field : "source",
  );
}

/** The prompt, and the prompt plus the tokens asked for, must fit one sequence's context. */
function checkContextFits(
  request: Pick<GenerateRequest, "prompt" | "maxTokens">,
  promptLength: number,
  contextSize: number,
): void {
  const field = request.prompt.kind === "chat" ? "prompt.messages" : "prompt";
  if (promptLength >= contextSize)
    throw new EngineError(
      "context_length_exceeded",
      `the prompt's ${promptLength} tokens do not fit the context of ${contextSize}`,
      field,
      {
        reason: "context_exceeded",
        contextSize,
        promptTokens: promptLength,
      },
    );
  if (request.maxTokens !== null && promptLength + request.maxTokens > contextSize)
    throw new EngineError(
      "context_length_exceeded",
      `the prompt's ${promptLength} tokens and ${request.maxTokens} more do not fit the context of ${contextSize}`,
      field,
      { reason: "context_exceeded", contextSize, promptTokens: promptLength, maxTokens: request.maxTokens },
    );
}

/**
 * The metrics describe the model at temperature T with logit_bias and nothing else: a nucleus,
 * top-k or min-p cut, or a penalty, would change each step's distribution without the scores
 * saying so (and power sampling would then target something else than p^α).
 */
function checkScalingSampling(sampling: SamplingParams): SamplingParams {
  // The endpoints refuse these combinations first (shared/its/plan.ts), in the wire's words.
  const refused: [boolean, EngineField][] = [
    [!(sampling.temperature > 0), "sampling.temperature"],
    [sampling.topP < 1, "sampling.topP"],
    [(sampling.topK ?? 0) > 0, "sampling.topK"],
    [(sampling.minP ?? 0) > 0, "sampling.minP"],
    [(sampling.presencePenalty ?? 0) !== 0, "sampling.presencePenalty"],
    [(sampling.frequencyPenalty ?? 0) !== 0, "sampling.frequencyPenalty"],
    [(sampling.repetitionPenalty ?? 1) !== 1, "sampling.repetitionPenalty"],
  ];
  for (const [set, field] of refused)
    if (set)
      throw new EngineError(
        "unsupported",
        `a scaling proposal cannot use ${field}: the metrics describe the model at a temperature above 0 with the logit bias only`,
        field,
      );
  return sampling;
}

function describeRuntime(llama: Llama): EngineRuntime {
  return {
    binaries: llama.buildType === "localBuild" ? "local build" : "prebuilt",
    llamaCpp: llama.llamaCppRelease.release,
    gpu: llama.gpu,
    cpuFeatures: llama.systemInfo.replace(/\s*\|\s*$/, "").trim(),
  };
}
