import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aspiredVersionNumbers } from '../../src/core/servable_version_policy';

describe('servable version policy', () => {
  const onDisk = [3, 1, 10, 2];

  it('latest keeps the highest num_versions versions (default, and 0, mean 1)', () => {
    assert.deepEqual(aspiredVersionNumbers(undefined, onDisk), [10]);
    assert.deepEqual(aspiredVersionNumbers({ kind: 'latest' }, onDisk), [10]);
    assert.deepEqual(aspiredVersionNumbers({ kind: 'latest', numVersions: 0 }, onDisk), [10]);
    assert.deepEqual(aspiredVersionNumbers({ kind: 'latest', numVersions: 2 }, onDisk), [10, 3]);
    assert.deepEqual(aspiredVersionNumbers({ kind: 'latest', numVersions: 9 }, onDisk), [10, 3, 2, 1]);
  });

  it('all keeps every version', () => {
    assert.deepEqual(aspiredVersionNumbers({ kind: 'all' }, onDisk), [10, 3, 2, 1]);
    assert.deepEqual(aspiredVersionNumbers({ kind: 'all' }, []), []);
  });

  it('specific keeps the listed versions that exist', () => {
    assert.deepEqual(aspiredVersionNumbers({ kind: 'specific', versions: [1, 3, 7] }, onDisk), [3, 1]);
    assert.deepEqual(aspiredVersionNumbers({ kind: 'specific', versions: [] }, onDisk), []);
  });
});
