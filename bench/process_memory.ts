/**
 * A process's memory as the kernel accounts it (/proc/<pid>/status), in MiB. RssAnon is the
 * heap side (malloc arenas, framework allocators, V8); RssFile the mapped libraries and files,
 * which grow once when a framework's code is first touched and do not leak per load.
 */
import * as fs from 'node:fs';

export interface ProcessMemory {
  rssMiB: number;
  anonMiB: number;
  fileMiB: number;
  /** Peak RSS so far (VmHWM). */
  peakMiB: number;
}

export function readProcessMemory(pid: number): ProcessMemory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]);
  };
  return {
    rssMiB: kib('VmRSS') / 1024,
    anonMiB: kib('RssAnon') / 1024,
    fileMiB: kib('RssFile') / 1024,
    peakMiB: kib('VmHWM') / 1024,
  };
}
