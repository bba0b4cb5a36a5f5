/**
 * The CPUs this process may use: os.availableParallelism() (the affinity mask, TF-Serving's
 * port::NumSchedulableCPUs) lowered to the cgroup's CPU quota, rounded up. A container limited to
 * 4 CPUs on a 64-CPU node would otherwise size its thread budget for 64 runs. Node 20's libuv
 * does not read the quota (libuv reads it from 1.49, Node 22), hence this file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Reads a file's text, or undefined when it cannot be read (no such cgroup file). */
export type ReadText = (file: string) => string | undefined;

const readText: ReadText = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The quota in CPUs (fractional), or undefined when none is set. cgroup v2: `<dir>/cpu.max`
 * ("max 100000" or "400000 100000"); v1: `cpu.cfs_quota_us` (-1: none) over `cpu.cfs_period_us`,
 * in the process's own cgroup (/proc/self/cgroup) or, inside a container's namespace, at the root.
 */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
  const memberships = (read('/proc/self/cgroup') ?? '').split('\n');
  const v2Path = memberships.find((line) => line.startsWith('0::'))?.slice(3);
  const v1Path = memberships
    .map((line) => line.split(':'))
    .find(([, controllers]) => controllers?.split(',').includes('cpu'))?.[2];
  for (const dir of unique([`/sys/fs/cgroup${v2Path ?? ''}`, '/sys/fs/cgroup'])) {
    const [quota, period] = (read(`${dir}/cpu.max`) ?? '').trim().split(/\s+/);
    if (period !== undefined) return quota === 'max' ? undefined : ratio(quota, period);
  }
  for (const dir of unique([`/sys/fs/cgroup/cpu${v1Path ?? ''}`, '/sys/fs/cgroup/cpu'])) {
    const quota = read(`${dir}/cpu.cfs_quota_us`)?.trim();
    const period = read(`${dir}/cpu.cfs_period_us`)?.trim();
    if (quota !== undefined && period !== undefined) return Number(quota) < 0 ? undefined : ratio(quota, period);
  }
  return undefined;
}

function ratio(quota: string | undefined, period: string): number | undefined {
  const value = Number(quota) / Number(period);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function unique(dirs: string[]): string[] {
  return [...new Set(dirs.map((dir) => dir.replace(/\/+$/, '')))];
}

/** The CPUs the thread budget and the per-CPU flag defaults count. */
export function schedulableCpus(read: ReadText = readText, available = os.availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? available : Math.max(1, Math.min(available, Math.ceil(quota)));
}
