/**
 * The native Predict JSON codec (native/codec/predict_json.h) against the TypeScript codec it
 * stands in for, on seeded random and mutated bodies and random output tensors: the native
 * reader either declines a body or reads exactly the tensors (dtype, shape, bytes) the
 * TypeScript reader reads, and never reads one that TypeScript rejects; the native writer
 * either declines or writes the very bytes TypeScript writes. Declined bodies go to the
 * TypeScript reader, whose errors are TF-Serving's (test/server/rest/, test/compat/).
 *
 * DUOSERVE_FUZZ_SEED=<n> replays a run (the seed is named in every failure).
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  loadTensorCodec,
  type HostTensorHandle,
  type HostTensorOutput,
  type NativeOutput,
} from '../../src/native/backend_addon';
import { predictBodyFromText, signatureInputs } from '../../src/server/rest/predict_json';
import type { Signature, SignatureMap, TensorSpec } from '../../src/servables/signature';
import { DataType } from '../../src/tensors/data_type';
import type { JsonTensor } from '../../src/server/rest/json/json_tensors';
import { predictResponseJson } from '../../src/server/rest/json/json_tensors_response';
import { prng, type Random } from '../seeded_random';

const SEED = Number(process.env.DUOSERVE_FUZZ_SEED ?? 20261201);
const BODIES = 3_000;
const OUTPUTS = 1_500;
const codec = loadTensorCodec();

const NUMERIC: number[] = [
  DataType.DT_FLOAT,
  DataType.DT_DOUBLE,
  DataType.DT_INT8,
  DataType.DT_UINT8,
  DataType.DT_INT16,
  DataType.DT_UINT16,
  DataType.DT_INT32,
  DataType.DT_UINT32,
  DataType.DT_INT64,
  DataType.DT_UINT64,
  DataType.DT_BOOL,
  DataType.DT_INVALID,
];
/** Declined by the native reader, read by TypeScript: the fuzz checks the hand-over too. */
const OTHERS = [DataType.DT_STRING, DataType.DT_HALF, DataType.DT_BFLOAT16, DataType.DT_COMPLEX64];

function signatures(random: Random): SignatureMap {
  const map: SignatureMap = new Map();
  for (const name of ['serving_default', 'other']) {
    const inputs = new Map<string, TensorSpec>();
    const count = 1 + random.int(random.next() < 0.7 ? 1 : 3);
    for (let i = 0; i < count; i++) {
      const dtype = random.next() < 0.9 ? random.pick(NUMERIC) : random.pick(OTHERS);
      inputs.set(['x', 'y', 'z'][i], { name: `t${i}:0`, dtype } as TensorSpec);
    }
    map.set(name, { inputs, outputs: new Map() } as unknown as Signature);
  }
  return map;
}

/** A JSON number's text of many forms: integers long and short, fractions, exponents, -0, tokens. */
function numberText(random: Random): string {
  switch (random.int(12)) {
    case 0:
      return String(random.int(256) - 128);
    case 1:
      return String(random.int(2 ** 31));
    case 2:
      return random.pick(['-0', '0', '-0.0', '1.0', '2e0', '1E2', '1.5e3', '-1e-3']);
    case 3:
      return random.pick(['NaN', '-NaN', 'Infinity', '-Infinity', 'Inf', '-Inf']);
    case 4:
      return random.pick(['9007199254740993', '-9223372036854775808', '9223372036854775807', '18446744073709551615']);
    case 5:
      return random.pick(['18446744073709551616', '123456789012345678901234567890', '1e308', '1e-400', '4.9e-324']);
    case 6:
      return (random.next() * 2 - 1).toPrecision(1 + random.int(17));
    case 7:
      return (random.next() * 10 ** (random.int(80) - 40)).toExponential(random.int(20));
    case 8:
      return random.pick(['true', 'false', 'null', '"s"', '{"b64": "AA=="}']);
    default:
      return String(Math.fround(random.next() * 200 - 100));
  }
}

function valueText(random: Random, shape: number[], uniform: boolean): string {
  if (shape.length === 0) return numberText(random);
  const items: string[] = [];
  // Now and then a list of the wrong size, which every reader must refuse.
  const size = !uniform && random.next() < 0.05 ? shape[0] + 1 : shape[0];
  for (let i = 0; i < size; i++) items.push(valueText(random, shape.slice(1), uniform));
  const space = random.pick(['', ' ', '\n  ']);
  return `[${space}${items.join(`,${space}`)}${space}]`;
}

function randomShape(random: Random): number[] {
  return Array.from({ length: random.int(4) }, () => random.int(4));
}

/** A body of one of the shapes TF-Serving reads, mostly well formed; whether it repeats a key. */
function bodyText(random: Random, map: SignatureMap): { text: string; duplicateKey: boolean } {
  let duplicateKey = false;
  const signatureName = random.pick(['', 'serving_default', 'other', 'missing']);
  const aliases = [...(map.get(signatureName || 'serving_default')?.inputs.keys() ?? ['x'])];
  const uniform = random.next() < 0.8;
  const parts: string[] = [];
  if (signatureName || random.next() < 0.1) parts.push(`"signature_name": ${JSON.stringify(signatureName)}`);
  const shape = randomShape(random);
  if (random.next() < 0.5) {
    const instances = Array.from({ length: 1 + random.int(3) }, () =>
      aliases.length === 1 && random.next() < 0.7
        ? valueText(random, shape, uniform)
        : `{${aliases.map((alias) => `"${alias}": ${valueText(random, shape, uniform)}`).join(', ')}}`,
    );
    parts.push(`"instances": [${instances.join(', ')}]`);
  } else if (aliases.length === 1 && random.next() < 0.6) {
    parts.push(`"inputs": ${valueText(random, shape, uniform)}`);
  } else {
    const named = aliases.map((alias) => `"${alias}": ${valueText(random, randomShape(random), uniform)}`);
    if (random.next() < 0.1) {
      named.push(`"${random.pick(aliases)}": [1]`);
      duplicateKey = true;
    }
    parts.push(`"inputs": {${named.join(', ')}}`);
  }
  if (random.next() < 0.05) parts.push(`"extra": ${valueText(random, [2], true)}`);
  return { text: `{${parts.join(', ')}}`, duplicateKey };
}

function mutate(random: Random, text: Buffer): Buffer {
  const bytes = Buffer.from(text);
  const at = random.int(bytes.length);
  switch (random.int(5)) {
    case 0:
      bytes[at] ^= 1 << random.int(8);
      return bytes;
    case 1:
      return bytes.subarray(0, at);
    case 2:
      return Buffer.concat([
        bytes.subarray(0, at),
        Buffer.from([random.pick([0, 0x22, 0x2c, 0x5b, 0x5d, 0x7b, 0xff])]),
        bytes.subarray(at),
      ]);
    case 3:
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    default:
      return Buffer.concat([bytes, Buffer.from(random.pick([' ', 'x', '\u0000', '}', ' {}']))]);
  }
}

function bytesOf(tensor: JsonTensor): Buffer {
  if (!('data' in tensor)) throw new Error('a string tensor');
  return Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

describe(`native Predict JSON codec against the TypeScript one (seed ${SEED})`, () => {
  it('reads exactly what TypeScript reads, or declines', async () => {
    const random = prng(SEED);
    let readNatively = 0;
    let numericAccepted = 0;
    for (let i = 0; i < BODIES; i++) {
      const map = signatures(random);
      const { text, duplicateKey } = bodyText(random, map);
      const valid = Buffer.from(text);
      const body = random.next() < 0.3 ? mutate(random, valid) : valid;
      const inputs = signatureInputs(map);
      const context = `seed ${SEED}, body ${i}: ${body.toString('utf8').slice(0, 300)}`;
      const native = await codec.readPredictJson(body, nativeSpecOf(inputs));
      let expected;
      let rejection: Error | undefined;
      try {
        expected = predictBodyFromText(body.toString('utf8'), inputs)!;
      } catch (error) {
        rejection = error as Error;
      }
      // What the native reader is for: accepted bodies of numeric inputs without duplicate keys.
      const numeric =
        expected && [...expected.inputs.values()].every((tensor) => NUMERIC.includes((tensor as JsonTensor).dtype));
      // (JavaScript keeps a repeated key's last value; the native reader declines.)
      if (numeric && !(duplicateKey && body === valid)) numericAccepted++;
      if (!native) continue;
      readNatively++;
      if (!expected) assert.fail(`${context}: read natively, but TypeScript rejects it: ${rejection?.message}`);
      assert.equal(native.signatureName, expected.signatureName, context);
      assert.equal(native.format, expected.format, context);
      assert.deepEqual(
        native.inputs.map(([alias]) => alias),
        [...expected.inputs.keys()],
        context,
      );
      for (const [alias, handle] of native.inputs) {
        const want = expected.inputs.get(alias) as JsonTensor;
        const got = await codec.decode(handle);
        assert.equal(got.dtype, want.dtype, `${context}: ${alias} dtype`);
        assert.deepEqual(got.shape, want.shape, `${context}: ${alias} shape`);
        assert.ok(Buffer.from(got.data!).equals(bytesOf(want)), `${context}: ${alias} values`);
      }
    }
    // The native path must carry the common case, not decline it.
    assert.ok(
      readNatively >= numericAccepted * 0.95 && numericAccepted > BODIES / 10,
      `seed ${SEED}: ${readNatively} bodies read natively of ${numericAccepted} numeric ones TypeScript reads`,
    );
  });

  it('writes the bytes TypeScript writes, or declines', async () => {
    const random = prng(SEED + 1);
    let written = 0;
    const dtypes = [
      DataType.DT_FLOAT,
      DataType.DT_DOUBLE,
      DataType.DT_HALF,
      DataType.DT_BFLOAT16,
      DataType.DT_INT8,
      DataType.DT_UINT8,
      DataType.DT_INT16,
      DataType.DT_UINT16,
      DataType.DT_INT32,
      DataType.DT_UINT32,
      DataType.DT_INT64,
      DataType.DT_UINT64,
      DataType.DT_BOOL,
      DataType.DT_COMPLEX64,
      DataType.DT_COMPLEX128,
    ];
    const sizes: Record<number, number> = {
      1: 4,
      2: 8,
      3: 4,
      4: 1,
      5: 2,
      6: 1,
      8: 8,
      9: 8,
      10: 1,
      14: 2,
      17: 2,
      18: 16,
      19: 2,
      22: 4,
      23: 8,
    };
    for (let i = 0; i < OUTPUTS; i++) {
      const count = 1 + random.int(3);
      const batch = random.int(4);
      const outputs = new Map<string, NativeOutput>();
      const handles: Array<[string, HostTensorHandle]> = [];
      for (let k = 0; k < count; k++) {
        const dtype = random.pick(dtypes);
        const shape = random.next() < 0.9 ? [batch, ...randomShape(random).slice(0, 2)] : randomShape(random);
        const elements = shape.reduce((a, b) => a * b, 1);
        const data = new Uint8Array(elements * sizes[dtype]);
        const view = new DataView(data.buffer);
        for (let b = 0; b + 4 <= data.length; b += 4) {
          // Random bits, and often short decimals, where six digits round-trip.
          if (dtype === DataType.DT_FLOAT && random.next() < 0.5) view.setFloat32(b, numberLike(random), true);
          else view.setUint32(b, random.int(2 ** 32), true);
        }
        for (let b = data.length - (data.length % 4); b < data.length; b++) data[b] = random.int(256);
        if (dtype === DataType.DT_BOOL) for (let b = 0; b < data.length; b++) data[b] &= 1;
        const host: HostTensorOutput = await codec.decode({ dtype, shape, data });
        const alias = random.next() < 0.05 ? 'we"ird' : `out_${k}`;
        outputs.set(alias, host);
        handles.push([alias, host.handle]);
      }
      const format = random.pick(['row', 'columnar'] as const);
      const context = `seed ${SEED + 1}, output set ${i} (${format})`;
      const native = await codec.writePredictJson(handles, format);
      let expected: string | undefined;
      try {
        expected = predictResponseJson(outputs, format);
      } catch {
        expected = undefined;
      }
      if (!native) continue;
      written++;
      assert.ok(expected !== undefined, `${context}: written natively, but TypeScript reports an error`);
      assert.equal(native.toString('utf8'), expected, context);
    }
    assert.ok(written > OUTPUTS * 0.3, `seed ${SEED + 1}: only ${written} output sets written natively`);
  });
});

function numberLike(random: Random): number {
  return Number((random.next() * 2000 - 1000).toFixed(random.int(5)));
}

/** The native spec for `inputs`, made as predict_json.ts makes it. */
function nativeSpecOf(inputs: Map<string, Map<string, TensorSpec>>) {
  const list = [...inputs].map(
    ([name, specs]) =>
      [name, [...specs].map(([alias, spec]) => [alias, spec.dtype] as [string, number])] as [
        string,
        Array<[string, number]>,
      ],
  );
  return codec.predictJsonSpec('serving_default', list);
}
