/**
 * runBatch() on real models of every framework addon (the addon kit's, so no framework code
 * of its own): several tasks merged on dim 0, run once and split back answer each task
 * exactly what run() answers it alone, in every encoding and from every source form; a task
 * that cannot join fails alone with run()'s status; outputs that cannot be split fail the
 * batch with TF-Serving's messages. Also the codec's leadingDim(). Seeded.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  isHostTensorOutput,
  loadBackendAddon,
  loadTensorCodec,
  type BackendAddon,
  type BatchRunResult,
  type BatchTask,
  type HostTensorOutput,
  type ModelHandle,
  type NativeOutput,
  type OutputEncoding,
  type RunInput,
  type TensorSource,
} from '../../src/native/backend_addon';
import { DataType } from '../../src/tensors/data_type';
import type { ReferenceTensor } from '../platforms/tensorflow/fixtures';
import { REPO_ROOT, versionDir } from '../platforms/tensorflow/fixtures';
import { fieldsSource, tensorProtoBytes } from '../platforms/tensorflow/tensors';
import { aotiModel, exampleModel } from '../platforms/pytorch/aoti_fixtures';
import { PYTHON, torchModel } from '../platforms/pytorch/torch_fixtures';
import { prng, type Random } from '../seeded_random';

const SEED = Number(process.env.DUOSERVE_FUZZ_SEED ?? 11);
const codec = loadTensorCodec();
const ENCODINGS: OutputEncoding[] = ['fields', 'content', 'host'];
/** 'raw': {dtype, shape, data}, strings in the Open Inference Protocol's raw BYTES form. */
const FORMS = ['dense', 'raw', 'fields', 'content', 'handle'] as const;
type Form = (typeof FORMS)[number];

interface InputSpec {
  name: string;
  dtype: number;
  row: number[]; // dims >= 1
  /** AOTInductor: the signature's shape, checked natively. */
  shape?: number[];
}

interface BatchModel {
  label: string;
  addon: string;
  dir: () => string;
  inputs: InputSpec[];
  outputs: string[];
  /**
   * For a model with a matmul: the framework's kernels differ with the batch size (mlp_torch
   * at 1 row is a GEMV), so its float outputs from run() alone agree only this closely (the
   * split itself is checked bit for bit against run() on the merged rows); elementwise models
   * agree bit for bit.
   */
  tolerance?: number;
}

const MODELS: BatchModel[] = [
  {
    label: 'TensorFlow two_signatures (x [-1,3] -> y, total)',
    addon: 'tensorflow',
    dir: () => versionDir('two_signatures'),
    inputs: [{ name: 'serving_default_x:0', dtype: DataType.DT_FLOAT, row: [3] }],
    outputs: ['StatefulPartitionedCall:1', 'StatefulPartitionedCall:0'],
  },
  {
    label: 'TensorFlow many_dtypes (int64, bool, half, string inputs)',
    addon: 'tensorflow',
    dir: () => versionDir('many_dtypes'),
    inputs: [
      { name: 'serving_default_ids:0', dtype: DataType.DT_INT64, row: [] },
      { name: 'serving_default_flags:0', dtype: DataType.DT_BOOL, row: [] },
      { name: 'serving_default_halves:0', dtype: DataType.DT_HALF, row: [] },
      { name: 'serving_default_words:0', dtype: DataType.DT_STRING, row: [] },
    ],
    outputs: ['PartitionedCall:0', 'PartitionedCall:1', 'PartitionedCall:2', 'PartitionedCall:3', 'PartitionedCall:4'],
  },
  {
    label: 'TorchScript mlp_torch (x [-1,512])',
    addon: 'pytorch',
    dir: () => exampleModel('mlp_torch'),
    inputs: [{ name: 'x', dtype: DataType.DT_FLOAT, row: [512] }],
    outputs: ['output_0'],
    tolerance: 1e-5,
  },
  {
    label: 'AOTInductor dynamic_mlp.pt2 (x [B,4], B dynamic)',
    addon: 'pytorch',
    dir: () => aotiModel('dynamic_mlp'),
    inputs: [{ name: 'input_0', dtype: DataType.DT_FLOAT, row: [4], shape: [-1, 4] }],
    outputs: ['output_0'],
    tolerance: 1e-5,
  },
  {
    label: 'AOTInductor multi_io.pt2 (float, int64 and bool inputs)',
    addon: 'pytorch',
    dir: () => aotiModel('multi_io'),
    inputs: [
      { name: 'input_0', dtype: DataType.DT_FLOAT, row: [4], shape: [-1, 4] },
      { name: 'input_1', dtype: DataType.DT_INT64, row: [3], shape: [-1, 3] },
      { name: 'input_2', dtype: DataType.DT_BOOL, row: [3], shape: [-1, 3] },
    ],
    outputs: ['output_0', 'output_1'],
    tolerance: 1e-5,
  },
  {
    label: 'TFLite half_plus_two (x [-1])',
    addon: 'tflite',
    dir: () => path.join(REPO_ROOT, 'var', 'models', 'test', 'tflite', 'half_plus_two', '1'),
    inputs: [{ name: 'serving_default_x:0', dtype: DataType.DT_FLOAT, row: [] }],
    outputs: ['PartitionedCall:0'],
  },
];

function randomValues(random: Random, dtype: number, count: number): ReferenceTensor['values'] {
  return Array.from({ length: count }, () => {
    switch (dtype) {
      case DataType.DT_INT64:
        return random.int(2_000_000) - 1_000_000;
      case DataType.DT_BOOL:
        return random.next() < 0.5;
      case DataType.DT_HALF:
        return (random.int(512) - 256) / 4; // exact in float16
      case DataType.DT_STRING:
        return Buffer.from(Array.from({ length: random.int(6) }, () => 97 + random.int(26))).toString('base64');
      default:
        return Math.fround((random.next() - 0.5) * 8);
    }
  });
}

function randomTensor(random: Random, spec: InputSpec, rows: number): ReferenceTensor {
  const shape = [rows, ...spec.row];
  const count = shape.reduce((a, b) => a * b, 1);
  return { dtype: spec.dtype, shape, values: randomValues(random, spec.dtype, count) };
}

async function sourceOf(tensor: ReferenceTensor, form: Form): Promise<TensorSource> {
  switch (form) {
    case 'dense':
      return fieldsSource(tensor);
    case 'raw': {
      if (tensor.dtype !== DataType.DT_STRING) return fieldsSource(tensor);
      const elements = (tensor.values as string[]).map((v) => Buffer.from(v, 'base64'));
      const data = Buffer.concat(elements.flatMap((e) => [Buffer.from(new Uint32Array([e.length]).buffer), e]));
      return { dtype: DataType.DT_STRING, shape: tensor.shape, data };
    }
    case 'fields':
      return tensorProtoBytes(tensor);
    case 'content':
      return tensorProtoBytes(tensor, tensor.dtype !== DataType.DT_STRING);
    case 'handle':
      return (await codec.decode(tensorProtoBytes(tensor))).handle;
  }
}

function runInput(spec: InputSpec, source: TensorSource): RunInput {
  return spec.shape ? [spec.name, source, spec.dtype, spec.shape, 'x'] : [spec.name, source, spec.dtype];
}

/** An output's bytes, for a bit-for-bit comparison: the encoded proto, or dtype, shape and payload. */
function bitsOf(output: NativeOutput): unknown {
  if (output instanceof Uint8Array) return Buffer.from(output).toString('hex');
  assert.ok(isHostTensorOutput(output), 'expected a host output');
  const host = output;
  return {
    dtype: host.dtype,
    shape: host.shape,
    data: host.data ? Buffer.from(host.data).toString('hex') : undefined,
    strings: host.strings?.map((s) => s.toString('hex')),
  };
}

async function hostOf(output: NativeOutput): Promise<HostTensorOutput> {
  if (output instanceof Uint8Array) return await codec.decode(output);
  assert.ok(isHostTensorOutput(output), 'expected a host output');
  return output;
}

function assertSameOutputs(actual: Array<[string, NativeOutput]> | Error, expected: Array<[string, NativeOutput]>) {
  assert.ok(!(actual instanceof Error), `the task failed: ${(actual as Error).message}`);
  assert.deepEqual(
    actual.map(([name, output]) => [name, bitsOf(output)]),
    expected.map(([name, output]) => [name, bitsOf(output)]),
  );
}

const addons = new Map<string, BackendAddon>();
function addonOf(name: string): BackendAddon {
  if (!addons.has(name)) addons.set(name, loadBackendAddon(name));
  return addons.get(name)!;
}

describe('runBatch on every framework addon', () => {
  const handles = new Map<string, ModelHandle>();
  before(async () => {
    for (const model of MODELS) handles.set(model.label, await addonOf(model.addon).load(model.dir(), {}));
  });
  after(() => {
    for (const model of MODELS) addonOf(model.addon).unload(handles.get(model.label)!);
  });

  /** Tasks of random rows (1..4) from random source forms, and the tensors behind them. */
  async function randomTasks(model: BatchModel, random: Random, count: number) {
    const tasks: BatchTask[] = [];
    const tensors: ReferenceTensor[][] = [];
    for (let t = 0; t < count; t++) {
      const rows = 1 + random.int(4);
      const inputs: RunInput[] = [];
      tensors.push(model.inputs.map((spec) => randomTensor(random, spec, rows)));
      for (const [i, spec] of model.inputs.entries()) {
        inputs.push(runInput(spec, await sourceOf(tensors[t][i], random.pick(FORMS))));
      }
      tasks.push({ inputs });
    }
    return { tasks, tensors };
  }

  /**
   * run() on the tasks' tensors concatenated in TypeScript (and `paddingRows` copies of the
   * last task's first row): what the batch must have run, so its split must match bit for bit.
   */
  async function mergedRun(model: BatchModel, tensors: ReferenceTensor[][], paddingRows: number) {
    const inputs = model.inputs.map((spec, i) => {
      const parts = tensors.map((task) => task[i]);
      const last = parts[parts.length - 1];
      const rowValues = last.values.length / last.shape[0];
      const values = parts.flatMap((part) => part.values);
      for (let r = 0; r < paddingRows; r++) values.push(...last.values.slice(0, rowValues));
      const rows = parts.reduce((sum, part) => sum + part.shape[0], paddingRows);
      return runInput(spec, fieldsSource({ dtype: spec.dtype, shape: [rows, ...spec.row], values }));
    });
    const handle = handles.get(model.label)!;
    return (await addonOf(model.addon).run(handle, inputs, model.outputs, 'host')) as Array<[string, HostTensorOutput]>;
  }

  /** Rows [start, start + rows) of a host tensor, as bits. */
  function rowBits(host: HostTensorOutput, start: number, rows: number) {
    const rowElements = host.shape.slice(1).reduce((a, b) => a * b, 1);
    const from = start * rowElements;
    const to = from + rows * rowElements;
    const size = host.data
      ? host.data.byteLength /
        Math.max(
          1,
          host.shape.reduce((a, b) => a * b, 1),
        )
      : 0;
    return {
      dtype: host.dtype,
      shape: [rows, ...host.shape.slice(1)],
      data: host.data ? Buffer.from(host.data.slice(from * size, to * size)).toString('hex') : undefined,
      strings: host.strings?.slice(from, to).map((s) => s.toString('hex')),
    };
  }

  /** Each task's answer is its rows of the merged run, bit for bit, whatever the encoding. */
  async function assertSplitOf(
    results: BatchRunResult['results'],
    merged: Array<[string, HostTensorOutput]>,
    tensors: ReferenceTensor[][],
  ) {
    let start = 0;
    for (const [t, result] of results.entries()) {
      assert.ok(!(result instanceof Error), `task ${t} failed: ${(result as Error).message}`);
      const rows = tensors[t][0].shape[0];
      for (const [k, [name, output]] of result.entries()) {
        assert.equal(name, merged[k][0]);
        const host = await hostOf(output);
        assert.deepEqual(rowBits(host, 0, rows), rowBits(merged[k][1], start, rows), `task ${t}, ${name}`);
      }
      start += rows;
    }
  }

  /** Against run() alone: the same bytes, or for a matmul model, values within `tolerance`. */
  async function assertAsAlone(
    model: BatchModel,
    tasks: BatchTask[],
    results: BatchRunResult['results'],
    encoding: OutputEncoding,
  ) {
    const handle = handles.get(model.label)!;
    for (const [t, task] of tasks.entries()) {
      const alone = await addonOf(model.addon).run(handle, task.inputs, model.outputs, encoding);
      if (model.tolerance === undefined) {
        assertSameOutputs(results[t], alone);
        continue;
      }
      const batched = results[t] as Array<[string, NativeOutput]>;
      for (const [k, [, output]] of alone.entries()) {
        const a = await hostOf(batched[k][1]);
        const b = await hostOf(output);
        if (b.dtype !== DataType.DT_FLOAT) {
          assert.deepEqual(bitsOf(a), bitsOf(b)); // integer outputs agree exactly
          continue;
        }
        assert.deepEqual(a.shape, b.shape);
        const x = new Float32Array(a.data!);
        const y = new Float32Array(b.data!);
        for (let i = 0; i < y.length; i++) {
          assert.ok(Math.abs(x[i] - y[i]) <= model.tolerance * (1 + Math.abs(y[i])), `task ${t} element ${i}`);
        }
      }
    }
  }

  for (const model of MODELS) {
    it(`${model.label}: each task gets its rows of the one run, bit for bit, in every encoding`, async () => {
      const random = prng(SEED);
      const addon = addonOf(model.addon);
      const handle = handles.get(model.label)!;
      for (const encoding of ENCODINGS) {
        const { tasks, tensors } = await randomTasks(model, random, 6);
        const batch = await addon.runBatch(handle, tasks, model.outputs, encoding, {
          allowedBatchSizes: [],
          padVariableLengthInputs: false,
        });
        const rows = tensors.reduce((sum, task) => sum + task[0].shape[0], 0);
        assert.deepEqual([batch.batchRows, batch.paddingRows], [rows, 0]);
        assert.equal(batch.results.length, tasks.length);
        await assertSplitOf(batch.results, await mergedRun(model, tensors, 0), tensors);
        await assertAsAlone(model, tasks, batch.results, encoding);
      }
    });

    it(`${model.label}: allowedBatchSizes pads the batch, and each task still gets its own rows`, async () => {
      const { tasks, tensors } = await randomTasks(model, prng(SEED + 1), 3);
      const rows = tensors.reduce((sum, task) => sum + task[0].shape[0], 0);
      const batch = await addonOf(model.addon).runBatch(handles.get(model.label)!, tasks, model.outputs, 'host', {
        allowedBatchSizes: [2, rows + 3, 64],
        padVariableLengthInputs: false,
      });
      assert.deepEqual([batch.batchRows, batch.paddingRows], [rows + 3, 3]);
      await assertSplitOf(batch.results, await mergedRun(model, tensors, 3), tensors);
      await assertAsAlone(model, tasks, batch.results, 'host');
    });
  }

  it('a task that cannot join fails alone with its own status; the others answer as run() does', async () => {
    const model = MODELS[0];
    const addon = addonOf(model.addon);
    const handle = handles.get(model.label)!;
    const random = prng(SEED + 2);
    const spec = model.inputs[0];
    const good = () => ({ inputs: [runInput(spec, fieldsSource(randomTensor(random, spec, 2)))] });
    const garbage = Buffer.from('12ff01', 'hex');
    const tasks: BatchTask[] = [
      good(),
      { inputs: [[spec.name, { dtype: DataType.DT_INT32, shape: [1, 3], data: new Int32Array(3) }, spec.dtype]] },
      good(),
      { inputs: [[spec.name, garbage, spec.dtype]] },
      { inputs: [runInput(spec, fieldsSource(randomTensor(random, spec, 1)))], deadlineUs: 1 },
      { inputs: [[spec.name, { dtype: DataType.DT_FLOAT, shape: [1, 4], data: new Float32Array(4) }, spec.dtype]] },
      { inputs: [[spec.name, { dtype: DataType.DT_FLOAT, shape: [], data: new Float32Array(1) }, spec.dtype]] },
      good(),
      { inputs: [runInput(spec, fieldsSource(randomTensor(random, spec, 0)))] }, // no rows: joins, answered [0, 3]
    ];
    const batch = await addon.runBatch(handle, tasks, model.outputs, 'fields', {
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
    });
    assert.equal(batch.batchRows, 6);
    const failures = batch.results.map((result) =>
      result instanceof Error ? [(result as Error & { code: string }).code, result.message] : null,
    );
    assert.deepEqual(failures[1], ['INVALID_ARGUMENT', 'Expects arg[0] to be float but int32 is provided']);
    assert.equal(failures[3]![0], 'INVALID_ARGUMENT');
    assert.match(failures[3]![1], /^input 'serving_default_x:0': malformed TensorProto/);
    assert.deepEqual(failures[4], ['DEADLINE_EXCEEDED', 'Deadline Exceeded']);
    assert.deepEqual(failures[5], [
      'FAILED_PRECONDITION',
      "Tensors with name 'serving_default_x:0' from different tasks have different shapes and padding is turned off. " +
        'Set pad_variable_length_inputs to true, or ensure that all tensors with the same name have equal dimensions ' +
        'starting with the first dim.',
    ]);
    assert.deepEqual(failures[6], [
      'INVALID_ARGUMENT',
      'Batching Run() input tensors must have at least one dimension',
    ]);
    // A failed task's Error has the caller's stack, as run()'s rejections do.
    assert.match((batch.results[1] as Error).stack!, /run_batch\.test/);
    for (const t of [0, 2, 7, 8]) {
      assertSameOutputs(batch.results[t], await addon.run(handle, tasks[t].inputs, model.outputs, 'fields'));
    }
  });

  it('fuzz: damaged TensorProto bytes fail their own task only, with the status run() gives them', async () => {
    const model = MODELS[0]; // elementwise: answers agree with run() alone bit for bit
    const addon = addonOf(model.addon);
    const handle = handles.get(model.label)!;
    const spec = model.inputs[0];
    const random = prng(SEED + 4);
    for (let round = 0; round < 40; round++) {
      const tasks: BatchTask[] = [{ inputs: [runInput(spec, tensorProtoBytes(randomTensor(random, spec, 2)))] }];
      for (let t = 0; t < 5; t++) {
        const bytes = Buffer.from(tensorProtoBytes(randomTensor(random, spec, 1 + random.int(3)), random.next() < 0.5));
        const damaged = random.next() < 0.5 ? bytes.subarray(0, random.int(bytes.length)) : bytes;
        for (let flips = random.int(3); flips > 0; flips--) damaged[random.int(damaged.length)] = random.int(256);
        tasks.push({ inputs: [runInput(spec, damaged)] });
      }
      const batch = await addon.runBatch(handle, tasks, model.outputs, 'fields', {
        allowedBatchSizes: [],
        padVariableLengthInputs: false,
      });
      for (const [t, task] of tasks.entries()) {
        const what = `round ${round} task ${t}`;
        const result = batch.results[t];
        let decoded: HostTensorOutput | null = null;
        try {
          decoded = await codec.decode(task.inputs[0][1]);
        } catch {
          // the batch and run() alone must refuse it alike
        }
        const refusedAlike = decoded === null || decoded.dtype !== spec.dtype || decoded.shape.length === 0;
        if (decoded && !refusedAlike && (decoded.shape.length !== 2 || decoded.shape[1] !== 3)) {
          assert.equal((result as Error & { code: string }).code, 'FAILED_PRECONDITION', what);
          continue;
        }
        let alone: Array<[string, NativeOutput]> | (Error & { code?: string });
        try {
          alone = await addon.run(handle, task.inputs, model.outputs, 'fields');
        } catch (error) {
          alone = error as Error & { code?: string };
        }
        if (decoded?.shape.length === 0) {
          assert.equal(
            (result as Error).message,
            'Batching Run() input tensors must have at least one dimension',
            what,
          );
        } else if (alone instanceof Error) {
          assert.ok(result instanceof Error, `${what}: ${alone.message}`);
          assert.deepEqual(
            [(result as Error & { code: string }).code, result.message],
            [alone.code, alone.message],
            what,
          );
        } else {
          assertSameOutputs(result, alone);
        }
      }
    }
  });

  it('every task failing (or none at all) runs nothing: batchRows is 0', async () => {
    const model = MODELS[0];
    const spec = model.inputs[0];
    const batch = await addonOf(model.addon).runBatch(
      handles.get(model.label)!,
      [{ inputs: [runInput(spec, fieldsSource(randomTensor(prng(SEED), spec, 1)))], deadlineUs: 1 }],
      model.outputs,
      'host',
      { allowedBatchSizes: [4], padVariableLengthInputs: false },
    );
    assert.deepEqual([batch.batchRows, batch.paddingRows], [0, 0]);
    assert.equal((batch.results[0] as Error & { code: string }).code, 'DEADLINE_EXCEEDED');
    const none = await addonOf(model.addon).runBatch(handles.get(model.label)!, [], model.outputs, 'host', {
      allowedBatchSizes: [4],
      padVariableLengthInputs: false,
    });
    assert.deepEqual(none, { results: [], batchRows: 0, paddingRows: 0 });
  });

  it('a .pt2 with a dynamic batch takes each task with its own dim 0 and refuses other dims alone', async () => {
    const model = MODELS.find((m) => m.addon === 'pytorch' && m.inputs[0].shape)!;
    const addon = addonOf(model.addon);
    const handle = handles.get(model.label)!;
    const random = prng(SEED + 3);
    const spec = model.inputs[0];
    const wrong = { dtype: DataType.DT_FLOAT, shape: [2, 5], data: new Float32Array(10) };
    const tasks: BatchTask[] = [
      { inputs: [runInput(spec, fieldsSource(randomTensor(random, spec, 3)))] },
      { inputs: [runInput(spec, wrong)] },
      { inputs: [runInput(spec, fieldsSource(randomTensor(random, spec, 1)))] },
    ];
    const batch = await addon.runBatch(handle, tasks, model.outputs, 'host', {
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
    });
    assert.equal(batch.batchRows, 4);
    const failure = batch.results[1] as Error & { code: string };
    assert.equal(failure.code, 'INVALID_ARGUMENT');
    assert.equal(failure.message, "input x: shape [2,5] does not match the signature's [-1,4] (-1: any size)");
    await assertAsAlone(model, [tasks[0], tasks[2]], [batch.results[0], batch.results[2]], 'host');
    // A package compiled for one batch size (here: told so by the expected shape) takes only
    // batches of that size: the merged batch is checked against the whole shape.
    const row = (): BatchTask => ({
      inputs: [[spec.name, fieldsSource(randomTensor(random, spec, 1)), spec.dtype, [2, 4], 'x']],
    });
    const options = { allowedBatchSizes: [], padVariableLengthInputs: false };
    const two = await addon.runBatch(handle, [row(), row()], model.outputs, 'host', options);
    assert.ok(two.results.every((result) => !(result instanceof Error)));
    await assert.rejects(addon.runBatch(handle, [row(), row(), row()], model.outputs, 'host', options), {
      code: 'INVALID_ARGUMENT',
      message: "input x: shape [3,4] does not match the signature's [2,4] (-1: any size)",
    });
  });

  it("an output whose dim 0 is not the batch rows rejects the whole batch with TF-Serving's message", async () => {
    // nested_tuple: x [B,3] -> (sums [B], (x*2 [B,3], x transposed [3,B])).
    const addon = addonOf('pytorch');
    const handle = await addon.load(torchModel('nested_tuple'), {});
    try {
      const x = (rows: number) => ({
        inputs: [['x', fieldsSource(randomTensor(prng(SEED), { name: 'x', dtype: 1, row: [3] }, rows))] as RunInput],
      });
      const options = { allowedBatchSizes: [], padVariableLengthInputs: false };
      const fine = await addon.runBatch(handle, [x(1), x(1)], ['output_0', 'output_1'], 'host', options);
      assert.ok(fine.results.every((result) => !(result instanceof Error)));
      await assert.rejects(addon.runBatch(handle, [x(1), x(1)], ['output_2'], 'host', options), {
        code: 'FAILED_PRECONDITION',
        message:
          "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes of the input tensors",
      });
    } finally {
      addon.unload(handle);
    }
  });

  it("an output of rank 0 rejects the whole batch with TF-Serving's message", async () => {
    // A TorchScript model whose answer is a scalar (x.sum()), exported here by torch itself.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-run-batch-'));
    try {
      execFileSync(PYTHON, [
        '-c',
        'import sys, torch\n' +
          'class Total(torch.nn.Module):\n' +
          '    def forward(self, x: torch.Tensor) -> torch.Tensor:\n' +
          '        return x.sum()\n' +
          'torch.jit.trace(Total(), torch.ones(2)).save(sys.argv[1])\n',
        path.join(dir, 'model.pt'),
      ]);
      const addon = addonOf('pytorch');
      const handle = await addon.load(dir, {});
      try {
        const task = { inputs: [['x', { dtype: 1, shape: [2], data: new Float32Array([1, 2]) }] as RunInput] };
        await assert.rejects(
          addon.runBatch(handle, [task, task], ['output_0'], 'fields', {
            allowedBatchSizes: [],
            padVariableLengthInputs: false,
          }),
          { code: 'FAILED_PRECONDITION', message: 'Batched output tensor has 0 dimensions' },
        );
      } finally {
        addon.unload(handle);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pad_variable_length_inputs pads dims >= 1 with each tensor's first element; outputs keep the padding", async () => {
    // two_signatures' echo: anything (any shape) -> same.
    const addon = addonOf('tensorflow');
    const handle = await addon.load(versionDir('two_signatures'), {});
    try {
      const task = (shape: number[], values: number[]): BatchTask => ({
        inputs: [['echo_anything:0', { dtype: 1, shape, data: Float32Array.from(values) }, 1]],
      });
      const options = { allowedBatchSizes: [4], padVariableLengthInputs: true };
      const batch = await addon.runBatch(
        handle,
        [task([1, 2], [5, 6]), task([2, 3], [1, 2, 3, 4, 5, 6]), task([1, 1, 1, 1, 1, 1, 1], [9])],
        ['PartitionedCall_1:0'],
        'host',
        options,
      );
      assert.deepEqual([batch.batchRows, batch.paddingRows], [4, 1]);
      const [first, second, rank7] = batch.results;
      const out = (result: (typeof batch.results)[number]) => (result as Array<[string, HostTensorOutput]>)[0][1];
      assert.deepEqual(out(first).shape, [1, 3]);
      assert.deepEqual([...new Float32Array(out(first).data!)], [5, 6, 5]);
      assert.deepEqual(out(second).shape, [2, 3]);
      assert.deepEqual([...new Float32Array(out(second).data!)], [1, 2, 3, 4, 5, 6]);
      assert.equal((rank7 as Error & { code: string }).code, 'INVALID_ARGUMENT');
      assert.equal((rank7 as Error).message, 'Only tensors with rank from 1 to 6 can be padded.');
      const empty = await addon.runBatch(
        handle,
        [task([1, 2], [5, 6]), task([1, 0], [])],
        ['PartitionedCall_1:0'],
        'host',
        options,
      );
      assert.equal((empty.results[1] as Error).message, 'Got empty tensor in batch of non-empty tensors.');
      assert.deepEqual(out(empty.results[0]).shape, [1, 2]);
    } finally {
      addon.unload(handle);
    }
  });
});

describe('leadingDim', () => {
  const tensor: ReferenceTensor = { dtype: DataType.DT_FLOAT, shape: [3, 2], values: [1, 2, 3, 4, 5, 6] };

  it('reads dim 0 of every source form without decoding', async () => {
    const before = codec.copyStats().copies;
    assert.equal(codec.leadingDim(tensorProtoBytes(tensor)), 3);
    assert.equal(codec.leadingDim(tensorProtoBytes(tensor, true)), 3);
    assert.equal(codec.leadingDim(fieldsSource(tensor)), 3);
    assert.equal(codec.leadingDim({ dtype: 7, shape: [2, 1], strings: [Buffer.from('a'), Buffer.from('b')] }), 2);
    assert.equal(codec.copyStats().copies, before);
    assert.equal(codec.leadingDim((await codec.decode(tensorProtoBytes(tensor))).handle), 3);
    assert.equal(codec.leadingDim(tensorProtoBytes({ dtype: 1, shape: [0, 4], values: [] })), 0);
  });

  it('is -1 for a scalar and -2 for bytes that are not a TensorProto', () => {
    assert.equal(codec.leadingDim(tensorProtoBytes({ dtype: 1, shape: [], values: [1] })), -1);
    assert.equal(codec.leadingDim({ dtype: 1, shape: [], data: new Float32Array(1) }), -1);
    assert.equal(codec.leadingDim(Buffer.from('12ff01', 'hex')), -2);
    assert.equal(codec.leadingDim(Buffer.from('1204120208ff', 'hex')), -2); // a dim's size cut short
    assert.equal(codec.leadingDim(tensorProtoBytes({ dtype: 1, shape: [-1], values: [] })), -2); // the decoder refuses it
    const random = prng(SEED);
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(Array.from({ length: random.int(24) }, () => random.int(256)));
      const dim = codec.leadingDim(bytes);
      assert.ok(Number.isInteger(dim) && dim >= -2, `garbage ${bytes.toString('hex')} gave ${dim}`);
    }
    assert.throws(() => codec.leadingDim(42 as unknown as TensorSource), TypeError);
  });

  it('costs microseconds, whatever the payload', () => {
    const big = tensorProtoBytes({ dtype: 1, shape: [256, 1024], values: new Array(256 * 1024).fill(0.5) }, true);
    const start = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) codec.leadingDim(big);
    const perCallUs = Number(process.hrtime.bigint() - start) / 1000 / 1000;
    assert.ok(perCallUs < 50, `${perCallUs} µs per call`);
  });
});
