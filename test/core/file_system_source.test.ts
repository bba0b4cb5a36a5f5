import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FileSystemSource, type FileSystemSourceOptions } from '../../src/core/file_system_source';
import type { ServableData } from '../../src/core/servable_data';
import { settleSecondsFor } from '../../src/core/settle_period';

type Emission = { name: string; versions: Array<[number, string]> };

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-fs-source-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function makeVersions(base: string, ...names: string[]): void {
  for (const name of names) fs.mkdirSync(path.join(base, name), { recursive: true });
}

function start(options: Partial<FileSystemSourceOptions> & Pick<FileSystemSourceOptions, 'servables'>) {
  const emissions: Emission[] = [];
  const warnings: string[] = [];
  const source = new FileSystemSource({
    pollWaitSeconds: -1, // tests poll by hand unless they say otherwise
    log: (_, message) => warnings.push(message),
    ...options,
  });
  source.setAspiredVersionsCallback((name, versions: ServableData<string>[]) =>
    emissions.push({ name, versions: versions.map(({ id, data }) => [id.version, data as string]) }),
  );
  return { source, emissions, warnings };
}

describe('FileSystemSource', () => {
  it('emits the version directories the policy aspires, with their paths', async () => {
    const base = path.join(root, 'm');
    makeVersions(base, '1', '2', '10', 'tmp', '3x');
    fs.writeFileSync(path.join(base, '11'), 'a file, not a version');
    const { source, emissions } = start({
      servables: [
        { servableName: 'latest1', basePath: base },
        { servableName: 'latest2', basePath: base, versionPolicy: { kind: 'latest', numVersions: 2 } },
        { servableName: 'all', basePath: base, versionPolicy: { kind: 'all' } },
        { servableName: 'specific', basePath: base, versionPolicy: { kind: 'specific', versions: [1, 2, 5] } },
      ],
    });
    await source.poll();
    const v = (n: number) => path.join(base, String(n));
    assert.deepEqual(emissions, [
      { name: 'latest1', versions: [[10, v(10)]] },
      {
        name: 'latest2',
        versions: [
          [10, v(10)],
          [2, v(2)],
        ],
      },
      {
        name: 'all',
        versions: [
          [10, v(10)],
          [2, v(2)],
          [1, v(1)],
        ],
      },
      {
        name: 'specific',
        versions: [
          [2, v(2)],
          [1, v(1)],
        ],
      },
    ]);
  });

  it('follows versions appearing and disappearing, emitting only changes', async () => {
    const base = path.join(root, 'm');
    makeVersions(base, '1');
    const { source, emissions } = start({ servables: [{ servableName: 'm', basePath: base }] });
    await source.poll();
    await source.poll();
    makeVersions(base, '2');
    await source.poll();
    fs.rmSync(path.join(base, '2'), { recursive: true });
    await source.poll();
    fs.rmSync(path.join(base, '1'), { recursive: true });
    await source.poll();
    assert.deepEqual(
      emissions.map(({ versions }) => versions.map(([version]) => version)),
      [[1], [2], [1], []],
    );
  });

  it('warns about a missing base path once, emits nothing for it, and picks it up once it exists', async () => {
    const base = path.join(root, 'later');
    const { source, emissions, warnings } = start({ servables: [{ servableName: 'm', basePath: base }] });
    await source.poll();
    await source.poll();
    assert.deepEqual(emissions, []);
    assert.deepEqual(
      warnings.filter((line) => line.includes('Could not find base path')),
      [
        'FileSystemStoragePathSource encountered a filesystem access error: ' +
          `Could not find base path ${base} for servable m with error NOT_FOUND: ${base} not found`,
      ],
    );
    makeVersions(base, '7');
    await source.poll();
    assert.deepEqual(emissions, [{ name: 'm', versions: [[7, path.join(base, '7')]] }]);
  });

  it('skips version directories its completeness check rejects, until they are complete', async () => {
    const base = path.join(root, 'm');
    makeVersions(base, '1', '2');
    fs.writeFileSync(path.join(base, '1', 'DONE'), '');
    const { source, emissions } = start({
      servables: [
        { servableName: 'm', basePath: base, isVersionComplete: (dir) => fs.existsSync(path.join(dir, 'DONE')) },
      ],
    });
    await source.poll();
    fs.writeFileSync(path.join(base, '2', 'DONE'), '');
    await source.poll();
    assert.deepEqual(
      emissions.map(({ versions }) => versions.map(([version]) => version)),
      [[1], [2]],
    );
  });

  it('keeps aspiring a version that was complete when its directory loses a file, until a policy retires it', async () => {
    const base = path.join(root, 'm');
    makeVersions(base, '1');
    fs.writeFileSync(path.join(base, '1', 'DONE'), '');
    const { source, emissions, warnings } = start({
      servables: [
        { servableName: 'm', basePath: base, isVersionComplete: (dir) => fs.existsSync(path.join(dir, 'DONE')) },
      ],
      settleSeconds: 0.001,
    });
    await source.poll();
    fs.rmSync(path.join(base, '1', 'DONE')); // moved away, or an rsync --delete half way
    await source.poll();
    await new Promise((resolve) => setTimeout(resolve, 5)); // past the settle period, too
    await source.poll();
    assert.deepEqual(emissions, [{ name: 'm', versions: [[1, path.join(base, '1')]] }], 'no emission retires it');
    const kept = warnings.filter((line) => line.includes('is no longer complete'));
    assert.equal(kept.length, 1, 'said once');
    assert.match(kept[0], /it stays aspired, so a loaded version keeps serving$/);

    makeVersions(base, '2'); // a policy decision: a newer version (complete) replaces it
    fs.writeFileSync(path.join(base, '2', 'DONE'), '');
    await source.poll();
    fs.rmSync(path.join(base, '1'), { recursive: true });
    await source.poll();
    assert.deepEqual(emissions.at(-1), { name: 'm', versions: [[2, path.join(base, '2')]] });
  });

  describe('an incomplete version directory', () => {
    const DONE = 'DONE';
    const isVersionComplete = (dir: string) => fs.existsSync(path.join(dir, DONE));
    /** A source with a 1 s settle period on a clock the test moves by hand. */
    function settling(base: string) {
      const clock = { now: 0 };
      const started = start({
        servables: [{ servableName: 'm', basePath: base, isVersionComplete }],
        settleSeconds: 1,
        clock: () => clock.now,
      });
      const pollAt = async (ms: number) => {
        clock.now = ms;
        await started.source.poll();
      };
      const aspired = () => started.emissions.map(({ versions }) => versions.map(([version]) => version));
      return { ...started, pollAt, aspired };
    }
    let base: string;
    beforeEach(() => {
      base = path.join(root, 'm');
      makeVersions(base, '1', '2');
      fs.writeFileSync(path.join(base, '1', DONE), '');
      fs.writeFileSync(path.join(base, '2', 'checkpoint'), '');
    });

    it('is aspired once it has stayed unchanged for the settle period; a complete one at once', async () => {
      const { pollAt, aspired, warnings } = settling(base);
      await pollAt(0);
      await pollAt(900);
      fs.writeFileSync(path.join(base, '2', 'export.meta'), 'more');
      await pollAt(950); // changed: the period starts again
      await pollAt(1900);
      assert.deepEqual(aspired(), [[1]]);
      await pollAt(1950);
      assert.deepEqual(aspired(), [[1], [2]]);
      await pollAt(5000);
      makeVersions(base, '3');
      fs.writeFileSync(path.join(base, '3', DONE), '');
      await pollAt(5001);
      assert.deepEqual(aspired(), [[1], [2], [3]]);
      const where = `Version 2 of servable m at ${path.join(base, '2')}`;
      assert.deepEqual(
        warnings.filter((line) => line.startsWith(where)),
        [
          `${where} is not complete yet; loading it anyway once it has not changed for 1 s`,
          `${where} is not complete, and has not changed for 1 s; loading it anyway, so that its error shows`,
        ],
        'each condition logged once',
      );
    });

    it('is not aspired while a file in it keeps growing', async () => {
      const { pollAt, aspired } = settling(base);
      const file = path.join(base, '2', 'export.data-00000-of-00001');
      for (let ms = 0; ms <= 3000; ms += 500) {
        fs.appendFileSync(file, 'x');
        await pollAt(ms);
      }
      assert.deepEqual(aspired(), [[1]]);
    });

    it('that changes after it was aspired leaves the aspired set, and is back once settled or complete', async () => {
      const { pollAt, aspired, warnings } = settling(base);
      await pollAt(0);
      await pollAt(1000);
      fs.writeFileSync(path.join(base, '2', 'export.index'), '');
      await pollAt(1100);
      await pollAt(1500);
      assert.deepEqual(aspired(), [[1], [2], [1]]);
      await pollAt(2100);
      assert.deepEqual(aspired(), [[1], [2], [1], [2]]);
      fs.writeFileSync(path.join(base, '2', DONE), '');
      await pollAt(2200);
      assert.deepEqual(
        aspired(),
        [[1], [2], [1], [2], [1]],
        'withdrawn for a poll, so the failed attempt is forgotten',
      );
      await pollAt(2300);
      assert.deepEqual(aspired(), [[1], [2], [1], [2], [1], [2]]);
      const changed = `Version 2 of servable m at ${path.join(base, '2')} changed after it was loaded while incomplete`;
      assert.equal(warnings.filter((line) => line.startsWith(changed)).length, 2);
    });

    it('is aspired at once by a source that polls only once', async () => {
      const { source, emissions } = start({
        servables: [{ servableName: 'm', basePath: base, isVersionComplete }],
        pollWaitSeconds: 0,
      });
      await source.poll(); // after the one poll the callback started
      await source.stop();
      assert.deepEqual(emissions, [{ name: 'm', versions: [[2, path.join(base, '2')]] }]);
    });
  });

  it('settle period: three poll waits, at least 1 s; none when polling once', () => {
    assert.deepEqual([1, 10, 0.2, 0].map(settleSecondsFor), [3, 30, 1, 0]);
  });

  it('reconfigures: a removed servable gets an empty set, a new one is polled at once', async () => {
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    makeVersions(a, '1');
    makeVersions(b, '4', '5');
    const { source, emissions } = start({ servables: [{ servableName: 'a', basePath: a }] });
    await source.poll();
    await source.updateConfig([{ servableName: 'b', basePath: b, versionPolicy: { kind: 'all' } }]);
    assert.deepEqual(
      emissions.map(({ name, versions }) => [name, versions.map(([version]) => version)]),
      [
        ['a', [1]],
        ['a', []],
        ['b', [5, 4]],
      ],
    );
  });

  it('with poll wait 0 polls exactly once', async () => {
    const base = path.join(root, 'm');
    makeVersions(base, '1');
    const { source, emissions } = start({ servables: [{ servableName: 'm', basePath: base }], pollWaitSeconds: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    makeVersions(base, '2');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(emissions, [{ name: 'm', versions: [[1, path.join(base, '1')]] }]);
    await source.stop();
  });

  it('polls every poll wait seconds', async () => {
    const base = path.join(root, 'm');
    makeVersions(base, '1');
    const { source, emissions } = start({ servables: [{ servableName: 'm', basePath: base }], pollWaitSeconds: 0.05 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    makeVersions(base, '2');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await source.stop();
    assert.deepEqual(
      emissions.map(({ versions }) => versions.map(([version]) => version)),
      [[1], [2]],
    );
  });

  it('with watch on, re-polls soon after a change, long before the next periodic poll', async () => {
    const base = path.join(root, 'm');
    makeVersions(base, '1');
    const { source, emissions } = start({
      servables: [{ servableName: 'm', basePath: base }],
      pollWaitSeconds: 3600,
      watch: true,
    });
    await source.poll();
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the watch settle
    makeVersions(base, '2');
    const deadline = Date.now() + 5000;
    while (emissions.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    await source.stop();
    assert.deepEqual(
      emissions.map(({ versions }) => versions.map(([version]) => version)),
      [[1], [2]],
    );
  });
});
