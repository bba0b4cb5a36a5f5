import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  loadBackendAddon,
  loadTensorCodec,
  type BackendAddon,
  type HostTensorOutput,
  type ModelHandle,
  type RunInput,
} from '../../src/native/backend_addon';

/**
 * The addon kit's JavaScript surface, driven through the echo backend
 * (test/native/echo_backend.cc: every requested output is the input of that name).
 */
const addon: BackendAddon = loadBackendAddon('echo_test');
const codec = loadTensorCodec();

const FLOAT_2X2_CONTENT = Buffer.from('08011208120208021202080222100000803f000000400000404000008040', 'hex');
const FLOAT_2X2_FIELDS = Buffer.from('0801120812020802120208022a100000803f000000400000404000008040', 'hex');

function copiesDuring<T>(action: () => Promise<T>): Promise<{ result: T; copies: number }> {
  const before = codec.copyStats().copies;
  return action().then((result) => ({ result, copies: codec.copyStats().copies - before }));
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new assert.AssertionError({ message: 'expected a rejection' });
}

describe('addon kit', () => {
  let model: ModelHandle;

  it('loads with string and Buffer options', async () => {
    model = await addon.load('/models/echo/1', { mode: 'fast', config: Buffer.from([0x41, 0x00, 0x42]) });
    assert.equal(addon.describe(model).toString('latin1'), 'path=/models/echo/1\nconfig=A\u0000B\nmode=fast\n');
  });

  it('decodes TensorProto bytes and encodes both proto forms', async () => {
    const { result, copies } = await copiesDuring(() => addon.run(model, [['x', FLOAT_2X2_CONTENT]], ['x'], 'fields'));
    assert.equal(copies, 1); // the decode from tensor_content; typed fields are a conversion
    assert.deepEqual(result, [['x', FLOAT_2X2_FIELDS]]);
    const content = await copiesDuring(() => addon.run(model, [['x', FLOAT_2X2_FIELDS]], ['x'], 'content'));
    assert.equal(content.copies, 1); // the encode into tensor_content
    assert.deepEqual(content.result, [['x', FLOAT_2X2_CONTENT]]);
  });

  it('takes dense typed arrays and answers host tensors that chain without a copy', async () => {
    const data = new Float32Array([1.5, -2, 3, 4, 5, 6]);
    const first = await copiesDuring(() => addon.run(model, [['x', { dtype: 1, shape: [2, 3], data }]], ['x'], 'host'));
    assert.equal(first.copies, 1); // into an aligned HostTensor
    const [[name, output]] = first.result as Array<[string, HostTensorOutput]>;
    assert.equal(name, 'x');
    assert.equal(output.dtype, 1);
    assert.deepEqual(output.shape, [2, 3]);
    assert.deepEqual(Array.from(new Float32Array(output.data!)), [1.5, -2, 3, 4, 5, 6]);

    const chained = await copiesDuring(() => addon.run(model, [['y', output.handle]], ['y', 'y'], 'host'));
    assert.equal(chained.copies, 0);
    const [[, again], [, twice]] = chained.result as Array<[string, HostTensorOutput]>;
    assert.deepEqual(new Float32Array(again.data!), new Float32Array(output.data!));
    assert.deepEqual(new Float32Array(twice.data!), new Float32Array(output.data!));
  });

  it('carries string tensors', async () => {
    const strings = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from([0, 255])];
    const [[, host]] = (await addon.run(model, [['s', { dtype: 7, shape: [3], strings }]], ['s'], 'host')) as Array<
      [string, HostTensorOutput]
    >;
    assert.equal(host.data, undefined);
    assert.deepEqual(host.strings, strings);
    const [[, proto]] = await addon.run(model, [['s', host.handle]], ['s'], 'fields');
    assert.equal(
      (proto as Buffer).toString('hex'),
      '08071204120208034205' + Buffer.from('hello').toString('hex') + '42004202' + '00ff',
    );
  });

  it('rejects bad data with a status code and the caller stack', async () => {
    const error = await rejection(
      addon.run(model, [['x', { dtype: 1, shape: [3], data: new Float32Array(4) }]], ['x'], 'fields'),
    );
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(error.message, "input 'x': data has 16 bytes but shape [3] of DT_FLOAT needs 12");
    assert.match(error.stack!, /^Error: input 'x': data has 16 bytes/);
    assert.match(error.stack!, /addon_kit\.test\.js/);

    const badProto = Buffer.from('080112021001', 'hex'); // a dim that is a varint, not a message
    const malformed = await rejection(addon.run(model, [['p', badProto]], ['p'], 'fields'));
    assert.equal(malformed.code, 'INVALID_ARGUMENT');

    const unknownDtype = Buffer.from('0814', 'hex'); // DT_RESOURCE
    const unsupported = await rejection(addon.run(model, [['p', unknownDtype]], ['p'], 'fields'));
    assert.equal(unsupported.code, 'INVALID_ARGUMENT');
    assert.match(unsupported.message, /dtype 20 is not supported/);
  });

  it('turns backend statuses and exceptions into rejections', async () => {
    const missing = await rejection(addon.run(model, [], ['nothing'], 'fields'));
    assert.equal(missing.code, 'NOT_FOUND');
    const thrown = await rejection(addon.run(model, [], ['throw'], 'fields'));
    assert.equal(thrown.code, 'INTERNAL');
    assert.match(thrown.message, /echo backend asked to throw/);
    const notLoaded = await rejection(addon.load('missing', {}));
    assert.equal(notLoaded.code, 'NOT_FOUND');
  });

  it('throws TypeError for arguments of the wrong form', () => {
    const run = addon.run as (...args: unknown[]) => unknown;
    assert.throws(() => run({}, [], [], 'fields'), TypeError);
    assert.throws(() => run(model, [['x', 5]], ['x'], 'fields'), TypeError);
    assert.throws(() => run(model, [['x', new Float32Array(2)]], ['x'], 'fields'), TypeError);
    assert.throws(
      () => run(model, [['x', { dtype: 1, shape: ['2'], data: new Float32Array(2) }]], [], 'host'),
      TypeError,
    );
    assert.throws(() => run(model, [], [], 'xml'), TypeError);
    assert.throws(() => run(model, [], [], 'fields', undefined, new Uint8Array(4)), TypeError);
    assert.throws(() => addon.describe({} as ModelHandle), TypeError);
    assert.throws(() => addon.load('/m', { n: 1 } as unknown as Record<string, string>), TypeError);
  });

  it('never starts a run or a batch task cancelled while it waits for a worker thread', async () => {
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const slow = await addon.load('/models/slow/1', { run_ms: '300' });
    const runsOf = () => Number(/runs=(\d+)/.exec(addon.describe(slow).toString('latin1'))![1]);
    const input: RunInput = ['x', FLOAT_2X2_CONTENT];
    const busy = Array.from({ length: pool }, () => addon.run(slow, [input], ['x'], 'content'));
    const flag = new Int32Array(1);
    const taskFlag = new Int32Array(1);
    const queued = rejection(addon.run(slow, [input], ['x'], 'content', undefined, flag));
    const tasks = [{ inputs: [input], cancelled: taskFlag }, { inputs: [input] }];
    const merge = { allowedBatchSizes: [], padVariableLengthInputs: false };
    const batch = addon.runBatch(slow, tasks, ['x'], 'content', merge);
    Atomics.store(flag, 0, 1);
    Atomics.store(taskFlag, 0, 1);
    await Promise.all(busy);
    const cancelled = await queued;
    assert.deepEqual([cancelled.code, cancelled.message], ['CANCELLED', 'Cancelled']);
    const { results, batchRows } = await batch;
    assert.equal(batchRows, 2); // the task left running alone
    const dropped = results[0] as Error & { code?: string };
    assert.deepEqual([dropped.code, dropped.message], ['CANCELLED', 'Cancelled']);
    assert.deepEqual(results[1], [['x', FLOAT_2X2_CONTENT]]);
    assert.equal(runsOf(), pool + 1); // the busy runs and the batch: the cancelled run never ran
    // A flag set before the run is queued works the same; one never set changes nothing.
    const unset = new Int32Array(1);
    assert.deepEqual(await addon.run(slow, [input], ['x'], 'content', undefined, unset), [['x', FLOAT_2X2_CONTENT]]);
    assert.equal((await rejection(addon.run(slow, [input], ['x'], 'content', undefined, flag))).code, 'CANCELLED');
    assert.equal(runsOf(), pool + 2);
    addon.unload(slow);
  });

  it('lets runs in flight finish after unload, then refuses new ones', async () => {
    const inFlight = addon.run(model, [['x', FLOAT_2X2_CONTENT]], ['x'], 'content');
    addon.unload(model);
    assert.deepEqual(await inFlight, [['x', FLOAT_2X2_CONTENT]]);
    const refused = await rejection(addon.run(model, [], [], 'fields'));
    assert.equal(refused.code, 'FAILED_PRECONDITION');
    assert.throws(
      () => addon.describe(model),
      (e: Error & { code?: string }) => e.code === 'FAILED_PRECONDITION',
    );
    addon.unload(model); // a second unload is harmless
  });
});
