/**
 * The "chain" model_platform: a version directory holding chain.pbtxt (see
 * proto/duoserve/chain.proto), a DAG of steps that run other served models within one
 * request. A chain is a servable like any model: versions, version policy, labels, hot
 * reload, status and metadata come from the lifecycle as they do for models.
 *
 * Loading a version reads the definition, refuses it if it would call itself (chain_calls.ts),
 * waits (bounded) for the model versions its steps name, and checks it against their
 * signatures; any problem fails that version only, with a message naming the step. Requests then look their models up again each time (chain_run.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Log } from '../../core/log';
import type { Manager } from '../../core/manager';
import type { ServableId } from '../../core/servable_id';
import { invalidArgument, notFound, ServingError, toServingError } from '../../errors/serving_error';
import { loadTensorCodec, type TensorCodec } from '../../native/backend_addon';
import type { InferenceServable } from '../../servables/inference_servable';
import type { Signature } from '../../servables/signature';
import type { LoadedServable, Platform } from '../platform';
import { ChainCalls } from './chain_calls';
import {
  type ChainDefinition,
  type FunctionStepDefinition,
  type ModelStepDefinition,
  parseChainDefinition,
  stepLabel,
} from './chain_definition';
import { ChainServable } from './chain_servable';
import { chainSignature } from './chain_signature';
import { functionSignature } from './function_declaration';
import { StepPool } from './step_pool';
import { type ModelWait, waitForModel } from './wait_for_model';

export const CHAIN_PLATFORM_NAME = 'chain';
export const CHAIN_FILE = 'chain.pbtxt';

export interface ChainPlatformOptions {
  /** Default: wait up to 30 s for each model a step uses, looking every 50 ms. */
  modelWait?: Partial<ModelWait>;
  /** Function step calls of one chain version that run at once (its pool's threads); default 2. */
  stepThreads?: number;
}

const DEFAULT_MODEL_WAIT: ModelWait = { timeoutMs: 30_000, pollMs: 50 };

/**
 * The platform entry for registry.ts. It needs the manager that serves the chains' models:
 * the composition root passes its own.
 */
export function chainPlatform(manager: Manager, options: ChainPlatformOptions = {}): Platform {
  const wait = { ...DEFAULT_MODEL_WAIT, ...options.modelWait };
  let codec: TensorCodec | undefined;
  const calls = new ChainCalls();
  return {
    name: CHAIN_PLATFORM_NAME,
    loadsAfterOthers: true,
    isVersionDir: (versionDir) => fs.existsSync(path.join(versionDir, CHAIN_FILE)),
    async load(versionDir: string, _log?: Log, id?: ServableId): Promise<LoadedServable> {
      const file = path.join(versionDir, CHAIN_FILE);
      const definition = parseChainDefinition(await readChainFile(file), file);
      const chainName = id?.name ?? path.basename(path.dirname(path.resolve(versionDir)));
      const modelSteps = definition.steps.filter((step): step is ModelStepDefinition => step.kind === 'model');
      const entered = calls.enter(chainName, versionDir, new Set(modelSteps.map((step) => step.model.name)));
      if (!('release' in entered)) {
        const { cycle } = entered;
        const step = modelSteps.find((candidate) => candidate.model.name === cycle[1])!;
        throw invalidArgument(`${file}: ${stepLabel(step)}: ${selfCall(cycle).message}`);
      }
      const found = () => {
        const cycle = entered.cycle();
        return cycle && selfCall(cycle);
      };
      try {
        const signatures = await stepSignatures(manager, definition, { ...wait, giveUp: found }, file);
        const signature = chainSignature(definition, signatures, file);
        codec ??= loadCodec();
        const stepPool = await loadFunctionSteps(definition, versionDir, options.stepThreads ?? 2, file);
        return new ChainServable(definition, signature, { chainName, manager, codec, stepPool }, entered.release);
      } catch (error) {
        entered.release();
        throw error;
      }
    },
  };
}

/** A chain version refused because it would call itself: cycle is [chain, ..., chain]. */
function selfCall(cycle: string[]): ServingError {
  return invalidArgument(`chain ${cycle[0]} would call itself: ${cycle.join(' -> ')}`);
}

async function readChainFile(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${file} not found`);
    throw invalidArgument(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** The signature each step runs, read from its model once that model is AVAILABLE. */
async function stepSignatures(
  manager: Manager,
  definition: ChainDefinition,
  wait: ModelWait & { giveUp: () => ServingError | undefined },
  file: string,
): Promise<Map<string, Signature>> {
  const signatures = await Promise.all(
    definition.steps.map((step) =>
      step.kind === 'function'
        ? Promise.resolve(functionSignature(step.function))
        : stepSignature(manager, step, wait, file),
    ),
  );
  return new Map(definition.steps.map((step, i) => [step.name, signatures[i]]));
}

/**
 * The version's step pool, each function step's module loaded and checked in it; undefined when
 * the chain has no function step. A failure closes the pool and names the step.
 */
async function loadFunctionSteps(
  definition: ChainDefinition,
  versionDir: string,
  threads: number,
  file: string,
): Promise<StepPool | undefined> {
  const steps = definition.steps.filter((step): step is FunctionStepDefinition => step.kind === 'function');
  if (steps.length === 0) return undefined;
  const pool = new StepPool(path.resolve(versionDir), threads);
  try {
    for (const step of steps) {
      try {
        await pool.load(step);
      } catch (error) {
        const cause = toServingError(error);
        throw new ServingError(cause.code, `${file}: ${stepLabel(step)}: ${cause.message}`);
      }
    }
  } catch (error) {
    pool.close();
    throw error;
  }
  return pool;
}

async function stepSignature(
  manager: Manager,
  step: ModelStepDefinition,
  wait: ModelWait & { giveUp: () => ServingError | undefined },
  file: string,
): Promise<Signature> {
  const fail = (code: ServingError['code'], what: string) =>
    new ServingError(code, `${file}: ${stepLabel(step)}: ${what}`);
  let handle;
  try {
    handle = await waitForModel<InferenceServable>(manager, step.model, wait, wait.giveUp);
  } catch (error) {
    const cause = toServingError(error);
    throw fail(cause.code, cause.message);
  }
  try {
    const signature = handle.servable.signatures.get(step.signatureName);
    if (!signature) {
      const known = [...handle.servable.signatures.keys()].sort().join(', ');
      throw fail('INVALID_ARGUMENT', `signature '${step.signatureName}' not found (the model has: ${known})`);
    }
    return signature;
  } finally {
    handle.release();
  }
}

function loadCodec(): TensorCodec {
  try {
    return loadTensorCodec();
  } catch (error) {
    throw new ServingError('INTERNAL', (error as Error).message);
  }
}
