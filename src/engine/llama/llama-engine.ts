// The local engine: GGUF models run by llama.cpp through node-llama-cpp, each model with one
// context of `parallel` sequences driven by one ContextScheduler.
import { randomInt } from "node:crypto";
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
  SamplingParams,
} from "../types.js";
import { ChatPromptRenderer } from "./chat-prompt.js";
import { resolveModelPath, type ModelSpec, type ResolveProgress } from "./model-source.js";
import type { NativeSamplerConfig } from "./native.js";
import { ContextScheduler } from "./scheduler.js";

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
  model: LlamaModel;
  context: LlamaContext;
  prompt: ChatPromptRenderer;
  scheduler: ContextScheduler;
}

export class LlamaEngine implements Engine {
  private currentState: EngineState = "loading";
  private llama: Llama | null = null;
  private readonly loaded = new Map<string, LoadedModel>();
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
    return this.options.models.map((spec) => this.loaded.get(spec.id)?.info ?? placeholderInfo(spec.id));
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

    const job = {
      promptTokens,
      maxTokens: request.maxTokens ?? contextSize - promptTokens.length,
      stop: request.stop.filter((s) => s.length > 0),
      sampler: samplerConfig(request.sampling),
      channel: new EventChannel<GenerationEvent>(() => cancel()),
      cancelled: false,
    };
    const cancel = (): void => {
      if (job.cancelled) return;
      job.cancelled = true;
      entry.scheduler.wakeUp();
    };
    if (request.signal?.aborted) throw new EngineError("aborted", "The request was cancelled.");
    if (job.maxTokens === 0) {
      // Nothing to generate; the prompt's evaluation would serve only prompt scoring.
      job.channel.push({ type: "finish", finishReason: "length", usage: { promptTokens: promptTokens.length, completionTokens: 0, cachedPromptTokens: 0 } });
      job.channel.end();
      return Object.assign(job.channel, { promptTokens: promptTokens.length });
    }
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

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    for (const entry of this.loaded.values()) {
      await entry.scheduler.close();
      await entry.context.dispose();
      await entry.model.dispose();
    }
    this.loaded.clear();
    await this.llama?.dispose();
  }

  private tokenizePrompt(entry: LoadedModel, request: GenerateRequest): Token[] {
    const tokens =
      request.prompt.kind === "chat" ? entry.prompt.render(request.prompt.messages) : entry.model.tokenize(request.prompt.text, false);
    if (tokens.length > 0) return tokens;
    // An empty prompt still needs one token to condition on: the document boundary, as OpenAI's
    // default prompt "<|endoftext|>" does.
    const boundary = entry.model.tokens.bos ?? entry.model.tokens.eos;
    if (boundary === null) throw new EngineError("context_length_exceeded", "The prompt is empty.", "prompt");
    return [boundary];
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
    const scheduler = new ContextScheduler(llama, model, context, spec.id, {
      parallel: options.parallel,
      contextSize: context.contextSize,
      batchSize: context.batchSize,
      prefillChunk: options.prefillChunk,
      maxQueue: options.maxQueue,
    });
    const prompt = new ChatPromptRenderer(model);
    const info = { id: spec.id, created: Math.floor(Date.now() / 1000), ownedBy: "lavash" };
    this.loaded.set(spec.id, { info, model, context, prompt, scheduler });
    options.logger.info(
      `Model '${spec.id}' ready: ${model.fileInfo.metadata.general.architecture}, ${(model.size / 1e6).toFixed(0)} MB, ` +
        `chat template ${prompt.templateName}, ${options.parallel} sequences x ${context.contextSize} tokens, ${options.threads} threads`,
    );
  }
}

function placeholderInfo(id: string): ModelInfo {
  return { id, created: Math.floor(Date.now() / 1000), ownedBy: "lavash" };
}

/** OpenAI semantics: no top-k, top_p 1 is "off", temperature 0 is greedy. */
function samplerConfig(sampling: SamplingParams): NativeSamplerConfig {
  const seed = sampling.seed === undefined ? randomInt(2 ** 32) : seedToUint32(sampling.seed);
  if (sampling.temperature <= 0) return { seed };
  return { temperature: sampling.temperature, topP: sampling.topP < 1 ? sampling.topP : undefined, seed };
}

/** OpenAI seeds are int64; llama.cpp's RNG takes 32 bits. Fold the high half in. */
export function seedToUint32(seed: number): number {
  const big = BigInt.asUintN(64, BigInt(Math.trunc(seed)));
  return Number(BigInt.asUintN(32, big ^ (big >> 32n)));
}
