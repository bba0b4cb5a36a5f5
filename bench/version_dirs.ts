/**
 * A model's base path that the benchmark rolls versions through, the way deployment tools
 * publish them: each new version is copied into a staging directory beside the base path
 * (same file system) and renamed into place, so the server never sees a half-written version.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class VersionDirs {
  readonly basePath: string;
  private readonly staging: string;

  /** A fresh `root` holding base/ and staging/; `source` is the version directory to copy. */
  constructor(
    root: string,
    private readonly source: string,
  ) {
    fs.rmSync(root, { recursive: true, force: true });
    this.basePath = path.join(root, 'base');
    this.staging = path.join(root, 'staging');
    fs.mkdirSync(this.basePath, { recursive: true });
    fs.mkdirSync(this.staging, { recursive: true });
  }

  /** Copies the source into staging; publish() then makes it appear. */
  stage(version: number): void {
    fs.cpSync(this.source, path.join(this.staging, String(version)), { recursive: true });
  }

  /** The atomic rename into the base path; returns process.hrtime.bigint() just before it. */
  publish(version: number): bigint {
    const at = process.hrtime.bigint();
    fs.renameSync(path.join(this.staging, String(version)), path.join(this.basePath, String(version)));
    return at;
  }

  remove(version: number): void {
    fs.rmSync(path.join(this.basePath, String(version)), { recursive: true, force: true });
  }
}
