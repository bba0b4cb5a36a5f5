/**
 * The benches' command line: `--name=value` (a bare `--name` means true), `--help`, and
 * repeatable flags collected into lists, seeded from a space-separated environment variable.
 */
export interface CliArgs {
  flags: Map<string, string>;
  /** Each repeatable flag's values, environment first. */
  repeated: Map<string, string[]>;
}

export function parseCliArgs(argv: string[], help: string, repeatable: Record<string, string | undefined>): CliArgs {
  const flags = new Map<string, string>();
  const repeated = new Map(
    Object.entries(repeatable).map(([name, fromEnv]) => [name, fromEnv ? fromEnv.split(/\s+/).filter(Boolean) : []]),
  );
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      console.log(help);
      process.exit(0);
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}\n${help}`);
    const [, name, value = 'true'] = match;
    const list = repeated.get(name);
    if (list) list.push(value);
    else flags.set(name, value);
  }
  return { flags, repeated };
}
