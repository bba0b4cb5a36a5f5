/**
 * One-off answer checks before timing: a benchmark of wrong answers measures nothing. Each
 * throws with what differs.
 */
import type { DenseTensor } from './payloads';
import type { BenchModel } from './models';

const TOLERANCE = 1e-4;

export function assertClose(what: string, actual: DenseTensor, expected: DenseTensor): void {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${what}: shape [${actual.shape}] where [${expected.shape}] was expected`);
  }
  for (let i = 0; i < expected.values.length; i++) {
    const a = actual.values[i];
    const e = expected.values[i];
    if (!(Math.abs(a - e) <= TOLERANCE * (1 + Math.abs(e)))) {
      throw new Error(`${what}: value ${i} is ${a} where ${e} was expected`);
    }
  }
}

/** What the model must answer where the benchmark knows it without a framework. */
export function knownAnswer(model: BenchModel): DenseTensor | null {
  if (model.size !== 'tiny') return null;
  return { shape: model.shape, values: model.values.map((x) => 0.5 * x + 2) };
}

/** The mid-size answer's shape: [rows, 512] in, [rows, 512] out. */
export function assertShape(what: string, actual: DenseTensor, shape: number[]): void {
  if (actual.shape.join(',') !== shape.join(','))
    throw new Error(`${what}: shape [${actual.shape}], expected [${shape}]`);
}
