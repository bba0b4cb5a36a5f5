import { watch, type FSWatcher } from 'chokidar';
import type { Log } from './log';

const WATCH_DEBOUNCE_MS = 100;

/**
 * A chokidar watch over the base paths that asks for a poll shortly after anything changes
 * under them (a version directory appears, or a file inside it): an optimization only.
 */
export class FileSystemWatch {
  private watcher?: FSWatcher;
  private watched = new Set<string>();
  private debounce?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly onChange: () => void,
    private readonly log: Log,
  ) {}

  watch(basePaths: string[]): void {
    if (this.closed) return;
    this.watcher ??= watch([], { ignoreInitial: true, depth: 2, persistent: false })
      .on('all', () => this.changed())
      .on('error', (error) => this.log('WARNING', `File-system watch error: ${String(error)}`));
    const wanted = new Set(basePaths);
    const removed = [...this.watched].filter((basePath) => !wanted.has(basePath));
    const added = [...wanted].filter((basePath) => !this.watched.has(basePath));
    if (removed.length > 0) this.watcher.unwatch(removed);
    if (added.length > 0) this.watcher.add(added);
    this.watched = wanted;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounce);
    await this.watcher?.close();
  }

  private changed(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => !this.closed && this.onChange(), WATCH_DEBOUNCE_MS);
    this.debounce.unref();
  }
}
