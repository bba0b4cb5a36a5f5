/**
 * The framework's own load time, with no server: the addon's load() of one version directory
 * in this process, timed, then unloaded. The first load also pays the framework's one-time
 * start (library init, kernel and op registration), which a server pays at its first model;
 * the rest are what each new version of an already-served model costs.
 */
import { loadBackendAddon } from '../src/native/backend_addon';

export interface RawLoadTimes {
  firstMs: number;
  /** Loads after the first, in order. */
  warmMs: number[];
}

/** The options bin/duoserve passes by default (tags "serve"; the PyTorch addon reads none). */
function loadOptions(platform: string): Record<string, string> {
  return platform === 'tensorflow' ? { tags: 'serve' } : {};
}

export async function timeRawLoads(platform: string, versionDir: string, count: number): Promise<RawLoadTimes> {
  const addon = loadBackendAddon(platform);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    const handle = await addon.load(versionDir, loadOptions(platform));
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    addon.unload(handle);
  }
  return { firstMs: times[0], warmMs: times.slice(1) };
}
