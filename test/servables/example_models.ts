/**
 * The SavedModels of test/fixtures/export_tf_example_models.py (signatures for Classify,
 * Regress and MultiInference, and signatures that break them), what TensorFlow computed for
 * them in Python, and the servables the TensorFlow platform loads from them. Read from
 * var/models/test/tensorflow_examples when setup exported them there; otherwise exported once
 * into a temp directory keyed by the script's hash.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LoadedServable } from '../../src/platforms/platform';
import { tensorFlowPlatform } from '../../src/platforms/tensorflow/tensorflow_platform';
import type { SerializedInput } from '../../src/servables/serialized_input';
import { REPO_ROOT, ReferenceTensor } from '../platforms/tensorflow/fixtures';

export const EXAMPLE_MODELS = ['examples_tf1', 'examples_tf2'] as const;
export type ExampleModel = (typeof EXAMPLE_MODELS)[number];

export interface ExampleCase {
  signature: string;
  /** Serialized tf.Examples, base64. */
  examples: string[];
  /** Serialized tf.Example, base64; null for an ExampleList. */
  context: string | null;
  /** What the signature returned for the examples merged with the context, by alias. */
  outputs: Record<string, ReferenceTensor>;
}

export interface ExampleReference {
  signatures: Record<string, { method_name: string; debug_string: string }>;
  cases: ExampleCase[];
}

function complete(dir: string): boolean {
  return EXAMPLE_MODELS.every((model) => fs.existsSync(path.join(dir, model, 'reference.json')));
}

let modelsDir: string | undefined;

function exampleModelsDir(): string {
  if (modelsDir) return modelsDir;
  const exported = path.join(REPO_ROOT, 'var', 'models', 'test', 'tensorflow_examples');
  if (complete(exported)) return (modelsDir = exported);
  const script = path.join(REPO_ROOT, 'test', 'fixtures', 'export_tf_example_models.py');
  const hash = createHash('sha256').update(fs.readFileSync(script)).digest('hex').slice(0, 12);
  const cached = path.join(os.tmpdir(), `duoserve-tf-example-models-${hash}`);
  if (!complete(cached)) {
    const staging = `${cached}.${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    execFileSync(path.join(REPO_ROOT, '.venv', 'bin', 'python'), [script, staging], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    try {
      fs.renameSync(staging, cached);
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }); // another test file won the race
    }
  }
  return (modelsDir = cached);
}

export function exampleModelDir(model: ExampleModel): string {
  return path.join(exampleModelsDir(), model, '1');
}

export function readExampleReference(model: ExampleModel): ExampleReference {
  return JSON.parse(fs.readFileSync(path.join(exampleModelsDir(), model, 'reference.json'), 'utf8'));
}

export function loadExampleModel(model: ExampleModel): Promise<LoadedServable> {
  return tensorFlowPlatform({ savedModelTags: ['serve'] }).load(exampleModelDir(model));
}

/** A case's examples as the Input envelope decodes them. */
export function caseInput(testCase: Pick<ExampleCase, 'examples' | 'context'>): SerializedInput {
  const examples = testCase.examples.map((example) => Buffer.from(example, 'base64'));
  if (testCase.context === null) return { example_list: { examples } };
  return { example_list_with_context: { examples, context: Buffer.from(testCase.context, 'base64') } };
}

/** The reference cases of one signature. */
export function casesOf(reference: ExampleReference, signature: string): ExampleCase[] {
  const cases = reference.cases.filter((c) => c.signature === signature);
  if (cases.length === 0) throw new Error(`no reference cases for ${signature}`);
  return cases;
}
