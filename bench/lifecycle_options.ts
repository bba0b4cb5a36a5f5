/**
 * The lifecycle benchmark's knobs, from flags (`--cycles=10`) or environment variables
 * (`LIFECYCLE_CYCLES=10`); a flag wins over its variable. `--quick` is a short smoke run.
 */
import * as path from 'node:path';
import { DEFAULT_MODELS, REPO_ROOT } from './options';
import { parseCliArgs } from './cli_args';

export interface LifecycleOptions {
  quick: boolean;
  /** Load/unload cycles per model; each is also one timed appearance. */
  cycles: number;
  /** In-process addon loads per model (the first is reported apart). */
  rawLoads: number;
  /** --file_system_poll_wait_seconds given to the server. */
  pollWaitSeconds: number;
  /** Wait after an old version reached END before reading RSS. */
  settleMs: number;
  models: string[];
  modelConfigFile: string;
  serverStartTimeoutMs: number;
  serverArgs: string[];
  /** Added to the server's environment, e.g. MALLOC_ARENA_MAX=2. */
  serverEnv: Record<string, string>;
  workDir: string;
  out: string;
}

const HELP = `usage: node dist/bench/lifecycle.js [flags]   (each flag also reads from the variable shown)
  --quick                 short smoke run: 3 cycles, 3 raw loads, tiny models only (LIFECYCLE_QUICK=1)
  --cycles=N              version appearances (load + unload of the old) per model, default 20 (LIFECYCLE_CYCLES)
  --raw-loads=N           in-process addon loads per model, default 6 (LIFECYCLE_RAW_LOADS)
  --poll-wait=SEC         the server's --file_system_poll_wait_seconds, default 1 (LIFECYCLE_POLL_WAIT_S)
  --settle=MS             wait after the old version's END before reading RSS, default 500 (LIFECYCLE_SETTLE_MS)
  --models=a,b            default all four examples; --quick: the two half_plus_two (LIFECYCLE_MODELS)
  --model-config=FILE     where the example models are found, default var/models/models.config
  --server-arg=FLAG       extra bin/duoserve flag, repeatable
  --server-env=KEY=VALUE  extra server environment variable, repeatable (LIFECYCLE_SERVER_ENV, space-separated),
                          e.g. MALLOC_ARENA_MAX=2, which keeps TensorFlow's RSS flat across reloads
  --out=FILE              JSON result, default var/bench/lifecycle.json (LIFECYCLE_OUT)`;

const TINY_MODELS = ['half_plus_two', 'half_plus_two_torch'];

export function parseLifecycleOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LifecycleOptions {
  const { flags, repeated } = parseCliArgs(argv, HELP, {
    'server-arg': undefined,
    'server-env': env.LIFECYCLE_SERVER_ENV,
  });
  const serverArgs = repeated.get('server-arg')!;
  const serverEnvEntries = repeated.get('server-env')!;
  const known = new Set(['quick', 'cycles', 'raw-loads', 'poll-wait', 'settle', 'models', 'model-config', 'out']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}\n${HELP}`);
  const read = (flag: string, variable: string): string | undefined => flags.get(flag) ?? env[variable];
  const quick = ['1', 'true'].includes(read('quick', 'LIFECYCLE_QUICK') ?? '');
  const integer = (flag: string, variable: string, full: number, short: number, min: number): number => {
    const text = read(flag, variable);
    const value = text === undefined ? (quick ? short : full) : Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${flag} must be an integer >= ${min}, got ${text}`);
    return value;
  };
  const serverEnv: Record<string, string> = {};
  for (const entry of serverEnvEntries) {
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new Error(`--server-env expects KEY=VALUE, got ${entry}`);
    serverEnv[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  const models = read('models', 'LIFECYCLE_MODELS');
  return {
    quick,
    cycles: integer('cycles', 'LIFECYCLE_CYCLES', 20, 3, 2),
    rawLoads: integer('raw-loads', 'LIFECYCLE_RAW_LOADS', 6, 3, 2),
    pollWaitSeconds: integer('poll-wait', 'LIFECYCLE_POLL_WAIT_S', 1, 1, 1),
    settleMs: integer('settle', 'LIFECYCLE_SETTLE_MS', 500, 300, 0),
    models: models ? models.split(',').filter(Boolean) : quick ? TINY_MODELS : DEFAULT_MODELS,
    modelConfigFile: path.resolve(
      read('model-config', 'LIFECYCLE_MODEL_CONFIG') ?? path.join(REPO_ROOT, 'var/models/models.config'),
    ),
    serverStartTimeoutMs: 180_000,
    serverArgs,
    serverEnv,
    workDir: path.join(REPO_ROOT, 'var/bench/lifecycle'),
    out: path.resolve(read('out', 'LIFECYCLE_OUT') ?? path.join(REPO_ROOT, 'var/bench/lifecycle.json')),
  };
}
