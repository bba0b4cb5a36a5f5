import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** Polls a directory must stay unchanged across before it counts as settled. */
export const SETTLE_POLLS = 3;
/** The shortest settle period, whatever the poll wait (sub-second polling is for tests). */
export const MIN_SETTLE_SECONDS = 1;

/**
 * How long a version directory that its platform does not recognise must stay unchanged
 * before the file-system source aspires it anyway, so that the load fails with the platform's
 * own words instead of the directory being skipped forever: SETTLE_POLLS poll waits, at least
 * MIN_SETTLE_SECONDS (3 s at the default --file_system_poll_wait_seconds=1). A source that
 * polls only once (0) has no later look, so it attempts such a directory at once.
 */
export function settleSecondsFor(pollWaitSeconds: number): number {
  if (pollWaitSeconds === 0) return 0;
  return Math.max(SETTLE_POLLS * pollWaitSeconds, MIN_SETTLE_SECONDS);
}

/**
 * A digest of everything under `dir` that a copy in progress changes: each entry's relative
 * path, size and modification time, recursively (symbolic links inside are not followed).
 * An unreadable `dir` digests to its error code, so a persistent error settles too.
 */
export async function directoryListing(dir: string): Promise<string> {
  const hash = createHash('sha256');
  let names: string[];
  try {
    names = (await fs.readdir(dir, { recursive: true })).sort();
  } catch (error) {
    return `unreadable: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
  for (const name of names) {
    const stats = await fs.lstat(path.join(dir, name)).catch(() => undefined);
    hash.update(`${name}\0${stats ? `${stats.size}\0${stats.mtimeMs}` : 'gone'}\n`);
  }
  return hash.digest('hex');
}
