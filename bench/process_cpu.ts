/** CPU time a process (or one of its threads) has used, as the kernel accounts it (/proc/.../stat). */
import * as fs from 'node:fs';

// USER_HZ, 100 on Linux.
const CLOCK_TICKS_PER_SECOND = 100;

/** [utime, stime] in seconds from a /proc stat file: /proc/PID/stat (all threads) or /proc/PID/task/TID/stat. */
export function statTimes(file: string): [number, number] {
  // Fields after the command name's closing parenthesis: utime and stime are the 12th and 13th.
  const fields = fs.readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return [Number(fields[11]) / CLOCK_TICKS_PER_SECOND, Number(fields[12]) / CLOCK_TICKS_PER_SECOND];
}

/** CPU seconds, user and system: all of process `pid`'s threads, or its main (JS) thread only. */
export function cpuSeconds(pid: number, { mainThreadOnly = false } = {}): number {
  const [user, system] = statTimes(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`);
  return user + system;
}
