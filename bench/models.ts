/**
 * The models the benchmark drives, found in the served model config: which platform each is,
 * where its newest version lives, and what input it gets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type ModelSize = 'tiny' | 'mid';

export interface BenchModel {
  name: string;
  platform: string;
  size: ModelSize;
  versionDir: string;
  /** The one input ("x", float32) and output ("y") aliases of every example. */
  inputAlias: string;
  outputAlias: string;
  shape: number[];
  values: Float32Array;
}

interface ConfigEntry {
  name: string;
  basePath: string;
  platform: string;
}

/** The `config { name base_path model_platform }` entries of a model_config_list text proto. */
export function readModelConfig(file: string): ConfigEntry[] {
  const text = fs.readFileSync(file, 'utf8');
  const entries: ConfigEntry[] = [];
  for (const block of text.split(/\bconfig\s*\{/).slice(1)) {
    const field = (name: string) => new RegExp(`\\b${name}\\s*:\\s*"([^"]*)"`).exec(block)?.[1];
    const name = field('name');
    const basePath = field('base_path');
    if (name && basePath) entries.push({ name, basePath, platform: field('model_platform') ?? 'tensorflow' });
  }
  return entries;
}

export function newestVersionDir(basePath: string): string {
  const versions = fs
    .readdirSync(basePath)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`${basePath} holds no numeric version directory`);
  return path.join(basePath, versions[0]);
}

/** A deterministic pseudo-random input (xorshift), so every run sends the same bytes. */
export function seededValues(count: number): Float32Array {
  const values = new Float32Array(count);
  let state = 0x2545f491;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = ((state >>> 0) / 2 ** 32) * 2 - 1;
  }
  return values;
}

const MLP_WIDTH = 512;

export function benchModels(configFile: string, names: string[], mlpRows: number): BenchModel[] {
  const entries = new Map(readModelConfig(configFile).map((entry) => [entry.name, entry]));
  return names.map((name) => {
    const entry = entries.get(name);
    if (!entry) throw new Error(`${configFile} does not serve ${name} (it serves: ${[...entries.keys()].join(', ')})`);
    const tiny = name.startsWith('half_plus_two');
    const shape = tiny ? [3] : [mlpRows, MLP_WIDTH];
    return {
      name,
      platform: entry.platform,
      size: tiny ? 'tiny' : 'mid',
      versionDir: newestVersionDir(entry.basePath),
      inputAlias: 'x',
      outputAlias: 'y',
      shape,
      values: tiny ? Float32Array.from([1, 2, 5]) : seededValues(mlpRows * MLP_WIDTH),
    };
  });
}

/** A model config serving just `names` of `configFile` (a faster start than every example), written to `file`. */
export function writeModelConfig(configFile: string, names: string[], file: string): string {
  const entries = readModelConfig(configFile).filter((entry) => names.includes(entry.name));
  const text = entries
    .map(
      (e) =>
        `  config {\n    name: "${e.name}"\n    base_path: "${e.basePath}"\n    model_platform: "${e.platform}"\n  }`,
    )
    .join('\n');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `model_config_list {\n${text}\n}\n`);
  return file;
}
