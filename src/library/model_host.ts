/**
 * duoserve in-process, without a server: the `duoserve` package's ModelHost. It is the
 * composition the server makes (ServerCore over the platform registry, chains included, since
 * they look their models up in its manager) and calls the use cases the APIs call: predict()
 * through withServable, the signatures GetModelMetadata reports, GetModelStatus's versions. So a
 * model answers here exactly as it answers over gRPC or REST: same tensors, same ServingError
 * codes and messages, same lifecycle (versions polled, loaded, swapped and unloaded by the
 * AspiredVersionsManager).
 */
import * as path from 'node:path';
import { modelServerConfigOf, type ModelEntry } from '../config/model_entries';
import type { AnsweringModelSpec, ClassifyResult, RegressResult } from '../client/client_types';
import { isAbsolutePathOrUri, type ModelServerConfig } from '../config/model_server_config';
import { schedulableCpus } from '../config/schedulable_cpus';
import { threadBudget } from '../config/thread_budget';
import { silentLog, type Log } from '../core/log';
import type { ServableRequest } from '../core/servable_request';
import type { ServableStateSnapshot } from '../core/servable_state';
import type { HostTensorOutput, NativeOutput, TensorSource } from '../native/backend_addon';
import { platformRegistry } from '../platforms/registry';
import { sessionConfigFromFlags } from '../platforms/tensorflow/session_config';
import { exampleWarmupReplayers } from '../servables/example_replayers';
import { classify } from '../servables/classifier';
import { signatureNameOf, type ExamplesRequest } from '../servables/example_inference';
import type { InferenceServable } from '../servables/inference_servable';
import { predict } from '../servables/predictor';
import { regress } from '../servables/regressor';
import { deadlineInMs } from '../servables/run_deadline';
import type { SignatureMap } from '../servables/signature';
import { versionStatesFor } from '../server/model_status';
import { ServerCore } from '../server/server_core';
import { withServable } from '../server/with_servable';
import { tensorValues, type TypedTensor } from '../tensors/typed_tensor';
import { serializedInputOf, type ExamplesInput } from './example_features';
import { tensorSourcesOf, type TensorInput } from './tensor_input';

export interface ModelHostOptions {
  /** The models (and chains) to serve; a relative base path is taken from the working directory. */
  models: readonly ModelEntry[];
  /** How often base paths are looked at for new versions (--file_system_poll_wait_seconds); default 1. */
  fileSystemPollWaitSeconds?: number;
  /** --prefer_tflite_model: a version directory's model.tflite is served (by the "tensorflow" platform). */
  preferTfLiteModel?: boolean;
  /** --num_tflite_pools; default 1. */
  numTfLitePools?: number;
  /** --enable_model_warmup (assets.extra/tf_serving_warmup_requests); default true, as TF-Serving. */
  enableModelWarmup?: boolean;
  /** --max_num_load_retries: a failed load is tried again this often, a minute apart; default 5, as TF-Serving. */
  maxNumLoadRetries?: number;
  /** Where load and lifecycle messages go; default: nowhere (consoleLog prints them as the server does). */
  log?: Log;
}

/** Which model a call is for: its name (the latest version), or a version or label, and a signature. */
export type ModelSpec = string | { name: string; version?: number; label?: string; signatureName?: string };

/** An output as the server's 'host' encoding has it, with its values as a typed array view. */
export type OutputTensor = HostTensorOutput & TypedTensor;

export interface PredictOptions {
  /** The signature to run ('' or absent: serving_default); a ModelSpec's signatureName wins. */
  signatureName?: string;
  /** The outputs to fetch (PredictRequest.output_filter); absent: all. */
  outputFilter?: string[];
  /** DEADLINE_EXCEEDED after this long; a run still queued then never starts. */
  timeoutMs?: number;
}

export interface ModelMetadata {
  /** The version that answered. */
  name: string;
  version: number;
  /** By signature name, as GetModelMetadata's signature_def reports them. */
  signatures: SignatureMap;
}

/** Libuv's pool when UV_THREADPOOL_SIZE is unset: the library cannot resize a pool already in use. */
const LIBUV_DEFAULT_POOL_SIZE = '4';

export class ModelHost {
  private constructor(private readonly core: ServerCore) {}

  /**
   * Loads every model and resolves once each is AVAILABLE; rejects with the load errors
   * (ServingError UNKNOWN "N servable(s) did not become available: ...") as the server fails
   * to start, having unloaded what did load.
   */
  static async start(options: ModelHostOptions): Promise<ModelHost> {
    // TensorFlow logs every load step at INFO; keep warnings and errors, as bin/duoserve does.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
    const log = options.log ?? silentLog;
    // The server's budget for the pool this process has: frameworks' threads x runs fit the CPUs.
    const budget = threadBudget({
      cores: schedulableCpus(),
      uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? LIBUV_DEFAULT_POOL_SIZE,
      tensorflowIntraOpParallelism: 0,
      tensorflowInterOpParallelism: 0,
      tensorflowSessionParallelism: 0,
      torchIntraOpThreads: 0,
      torchInterOpThreads: 0,
    });
    const platformOptions = {
      savedModelTags: ['serve'],
      sessionConfig: sessionConfigFromFlags({ configFile: '', ...budget.tensorflow }),
      preferTfLiteModel: options.preferTfLiteModel,
      numTfLitePools: options.numTfLitePools,
      torchThreads: budget.torch,
      chainStepThreads: budget.chainStepThreads,
    };
    const core = new ServerCore(configOf(options.models), {
      platforms: (manager) => platformRegistry(platformOptions, manager),
      fileSystemPollWaitSeconds: options.fileSystemPollWaitSeconds ?? 1,
      maxNumLoadRetries: options.maxNumLoadRetries,
      warmup: { enableModelWarmup: options.enableModelWarmup ?? true, replayers: exampleWarmupReplayers() },
      log,
    });
    // The source's poll timer does not keep the process alive: a version still settling would
    // otherwise end it with the start pending.
    const waiting = setInterval(() => undefined, 60_000);
    try {
      await core.waitUntilModelsAvailable();
    } catch (error) {
      await core.shutdown();
      throw error;
    } finally {
      clearInterval(waiting);
    }
    return new ModelHost(core);
  }

  /** Runs a signature (Predict): outputs by alias. Rejects with ServingError, as Predict answers. */
  predict(
    spec: ModelSpec,
    inputs: Readonly<Record<string, TensorInput>> | ReadonlyMap<string, TensorInput>,
    options: PredictOptions = {},
  ): Promise<Record<string, OutputTensor>> {
    const { request, signatureName } = requestOf(spec);
    let sources: Map<string, TensorSource>;
    try {
      sources = tensorSourcesOf(inputs);
    } catch (error) {
      return Promise.reject(error);
    }
    return withServable(
      this.core.manager,
      request,
      async (handle) => {
        const outputs = await predict(handle.servable, {
          signatureName: signatureName ?? options.signatureName ?? '',
          inputs: sources,
          outputFilter: options.outputFilter ?? [],
          encoding: 'host',
          deadlineUs: deadlineInMs(options.timeoutMs),
        });
        return Object.fromEntries([...outputs].map(([alias, output]) => [alias, typedOutput(output)]));
      },
      { timeoutMs: options.timeoutMs },
    );
  }

  /** Classify on tf.Examples (the signature's serialized-Examples input): each example's classes. */
  classify(spec: ModelSpec, input: ExamplesInput, options: { timeoutMs?: number } = {}): Promise<ClassifyResult> {
    return this.onExamples(spec, input, options, async (servable, request) => {
      const result = await classify(servable, request);
      const classifications = result.classifications.map(({ classes }) =>
        classes.map(({ label, score }) => ({ label: label ?? '', score: score ?? 0 })),
      );
      return { classifications };
    });
  }

  /** Regress on tf.Examples: one value per example. */
  regress(spec: ModelSpec, input: ExamplesInput, options: { timeoutMs?: number } = {}): Promise<RegressResult> {
    return this.onExamples(spec, input, options, async (servable, request) => {
      const result = await regress(servable, request);
      return { values: Float32Array.from(result.regressions, ({ value }) => value) };
    });
  }

  /** The signatures of the version `spec` names (GetModelMetadata's signature_def). */
  metadata(spec: ModelSpec): Promise<ModelMetadata> {
    const { request } = requestOf(spec);
    return withServable(this.core.manager, request, async (handle) => ({
      name: handle.id.name,
      version: handle.id.version,
      signatures: handle.servable.signatures,
    }));
  }

  /**
   * The versions GetModelStatus reports (the named one, else all, newest first) with their
   * states and load errors; throws NOT_FOUND for a model or version it does not know.
   */
  status(spec: ModelSpec): ServableStateSnapshot[] {
    return versionStatesFor(this.core.manager, requestOf(spec).request);
  }

  /** Replaces the served models (HandleReloadConfigRequest): resolves once the new ones are AVAILABLE. */
  reload(models: readonly ModelEntry[]): Promise<void> {
    let config: ModelServerConfig;
    try {
      config = configOf(models);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.core.reloadConfig(config);
  }

  /** Classify's and Regress's shared path: the handle, the examples serialized, the answering spec. */
  private onExamples<T extends object>(
    spec: ModelSpec,
    input: ExamplesInput,
    { timeoutMs }: { timeoutMs?: number },
    run: (servable: InferenceServable, request: ExamplesRequest) => Promise<T>,
  ): Promise<T & { modelSpec: AnsweringModelSpec }> {
    const { request, signatureName } = requestOf(spec);
    return withServable(
      this.core.manager,
      request,
      async (handle) => {
        const result = await run(handle.servable, {
          signatureName,
          input: serializedInputOf(input),
          deadlineUs: deadlineInMs(timeoutMs),
        });
        const { name, version } = handle.id;
        return { ...result, modelSpec: { name, version, signatureName: signatureNameOf(signatureName) } };
      },
      { timeoutMs },
    );
  }

  /** The models served, platforms resolved. */
  get config(): ModelServerConfig {
    return this.core.config;
  }

  /** Stops polling and unloads every version (waiting for runs that still hold one). */
  close(): Promise<void> {
    return this.core.shutdown();
  }
}

function configOf(models: readonly ModelEntry[]): ModelServerConfig {
  return modelServerConfigOf(models.map((model) => ({ ...model, basePath: absoluteBasePath(model.basePath) })));
}

/** A URI or absolute path stays as it is; a relative path is taken from the working directory. */
function absoluteBasePath(basePath: string): string {
  return isAbsolutePathOrUri(basePath) ? basePath : path.resolve(basePath);
}

function requestOf(spec: ModelSpec): { request: ServableRequest; signatureName?: string } {
  if (typeof spec === 'string') return { request: { name: spec } };
  const { name, version, label, signatureName } = spec;
  if (version !== undefined) return { request: { name, version }, signatureName };
  if (label !== undefined) return { request: { name, label }, signatureName };
  return { request: { name }, signatureName };
}

function typedOutput(output: NativeOutput): OutputTensor {
  // encoding 'host' answers HostTensorOutputs only.
  const host = output as HostTensorOutput;
  return Object.assign(host, { values: tensorValues(host.dtype, host.data, host.strings) });
}
