import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamicSourceRouter } from '../../src/core/dynamic_source_router';
import type { ServableData } from '../../src/core/servable_data';
import { SourceAdapter } from '../../src/core/source_adapter';
import { connectSourceToTarget } from '../../src/core/target';
import { ServingError } from '../../src/errors/serving_error';
import { FakeSource } from './fakes/fake_source';

type Emission<T> = [string, ServableData<T>[]];

describe('SourceAdapter', () => {
  it('converts each version, passes errors through and turns a throwing conversion into an error', () => {
    const source = new FakeSource<string>();
    const adapter = new SourceAdapter<string, number>((id, path) => {
      if (path === 'bad') throw new ServingError('INVALID_ARGUMENT', `cannot adapt ${id.version}`);
      return path.length;
    });
    const seen: Emission<number>[] = [];
    adapter.setAspiredVersionsCallback((name, versions) => seen.push([name, versions]));
    connectSourceToTarget(source, adapter);
    const upstream = new ServingError('NOT_FOUND', 'upstream');
    source.aspire('m', [
      [1, 'abc'],
      [2, upstream],
      [3, 'bad'],
    ]);
    const [[name, versions]] = seen;
    assert.equal(name, 'm');
    assert.equal(versions[0].data, 3);
    assert.equal(versions[1].data, upstream);
    assert.ok(versions[2].data instanceof ServingError);
    assert.equal(versions[2].data.message, 'cannot adapt 3');
  });

  it('keeps the latest set per servable until its own callback is set', () => {
    const source = new FakeSource<string>();
    const adapter = new SourceAdapter<string, string>((_, path) => path.toUpperCase());
    connectSourceToTarget(source, adapter);
    source.aspire('m', [[1, 'a']]);
    source.aspire('m', [[2, 'b']]);
    source.aspire('n', []);
    const seen: Emission<string>[] = [];
    adapter.setAspiredVersionsCallback((name, versions) => seen.push([name, versions]));
    assert.deepEqual(seen, [
      ['m', [{ id: { name: 'm', version: 2 }, data: 'B' }]],
      ['n', []],
    ]);
  });
});

describe('DynamicSourceRouter', () => {
  it('routes each servable to the output of its route key and drops unrouted ones', () => {
    const logged: string[] = [];
    const router = new DynamicSourceRouter<string>(
      new Map([
        ['a', 'x'],
        ['b', 'y'],
      ]),
      (_, message) => logged.push(message),
    );
    const source = new FakeSource<string>();
    connectSourceToTarget(source, router);
    const byRoute: Record<string, string[]> = { x: [], y: [] };
    router.output('x').setAspiredVersionsCallback((name) => byRoute.x.push(name));
    source.aspire('a', [[1, 'p']]);
    source.aspire('b', [[1, 'q']]);
    source.aspire('c', [[1, 'r']]);
    router.output('y').setAspiredVersionsCallback((name) => byRoute.y.push(name));
    assert.deepEqual(byRoute, { x: ['a'], y: ['b'] });
    assert.equal(logged.length, 1);
    router.updateRoutes(new Map([['c', 'y']]));
    source.aspire('c', []);
    assert.deepEqual(byRoute.y, ['b', 'c']);
  });
});
