import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChainDefinition } from '../../../src/platforms/chain/chain_definition';
import { chainSignature } from '../../../src/platforms/chain/chain_signature';
import type { Signature, TensorSpec } from '../../../src/servables/signature';

const FILE = 'chain.pbtxt';
const FLOAT = 1;
const INT64 = 9;

function spec(name: string, dtype: number, shape: number[] | null): TensorSpec {
  return { name, dtype, shape };
}

function signature(inputs: Record<string, TensorSpec>, outputs: Record<string, TensorSpec>): Signature {
  return {
    methodName: 'tensorflow/serving/predict',
    inputs: new Map(Object.entries(inputs)),
    outputs: new Map(Object.entries(outputs)),
  };
}

// a: x -> y; b: (u from a:y, v from request x) -> z
const CHAIN = `
input { name: "x" }
step { name: "a" model: "ma" inputs { key: "x" value: "request:x" } }
step { name: "b" model: "mb" inputs { key: "u" value: "a:y" } inputs { key: "v" value: "request:x" } }
output { name: "z" source: "b:z" }
output { name: "y" source: "a:y" }
`;

const A = signature({ x: spec('a_x:0', FLOAT, [-1, 4]) }, { y: spec('a_y:0', FLOAT, [-1, 8]) });
const B = signature(
  { u: spec('u', FLOAT, [2, -1]), v: spec('v', FLOAT, [-1, -1]) },
  { z: spec('output_0', FLOAT, [-1]) },
);

function check(a: Signature, b: Signature): Signature {
  return chainSignature(
    parseChainDefinition(CHAIN, FILE),
    new Map([
      ['a', a],
      ['b', b],
    ]),
    FILE,
  );
}

function refusal(a: Signature, b: Signature): string {
  try {
    check(a, b);
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'INVALID_ARGUMENT');
    return (error as Error).message;
  }
  throw new assert.AssertionError({ message: 'expected a refusal' });
}

describe('a chain checked against its models signatures', () => {
  it('takes input specs from the steps they feed (merged) and outputs from the steps producing them', () => {
    const chain = check(A, B);
    assert.deepEqual([...chain.inputs], [['x', spec('x', FLOAT, [-1, 4])]]);
    assert.deepEqual(
      [...chain.outputs],
      [
        ['z', spec('b:z', FLOAT, [-1])],
        ['y', spec('a:y', FLOAT, [-1, 8])],
      ],
    );
  });

  it('accepts unknown dtypes and ranks on either side', () => {
    const loose = signature({ u: spec('u', 0, null), v: spec('v', 0, null) }, { z: spec('z', 0, null) });
    assert.deepEqual(check(A, loose).outputs.get('z'), spec('b:z', 0, null));
  });

  it('refuses a step input the definition does not map, or maps but the signature lacks', () => {
    const more = signature(
      { ...Object.fromEntries(B.inputs), w: spec('w', FLOAT, [1]) },
      Object.fromEntries(B.outputs),
    );
    assert.equal(
      refusal(A, more),
      `${FILE}: step 'b' (model mb): input 'w' of signature 'serving_default' is not mapped`,
    );
    const fewer = signature({ u: spec('u', FLOAT, null) }, Object.fromEntries(B.outputs));
    assert.equal(
      refusal(A, fewer),
      `${FILE}: step 'b' (model mb): signature 'serving_default' has no input 'v' (it has: u)`,
    );
  });

  it('refuses a step output its model does not produce', () => {
    const renamed = signature(Object.fromEntries(A.inputs), { logits: spec('l', FLOAT, [-1, 8]) });
    assert.equal(
      refusal(renamed, B),
      `${FILE}: step 'b' (model mb): input 'u' comes from 'a:y', but step 'a' (model ma) signature 'serving_default' has no output 'y' (it has: logits)`,
    );
  });

  it('refuses connected tensors whose dtypes or shapes conflict', () => {
    const int64Input = signature(
      { u: spec('u', INT64, null), v: spec('v', FLOAT, null) },
      Object.fromEntries(B.outputs),
    );
    assert.equal(
      refusal(A, int64Input),
      `${FILE}: step 'b' (model mb): input 'u' is DT_INT64 [unknown rank] but 'a:y' is DT_FLOAT [-1,8]: dtypes differ`,
    );
    const rank3 = signature(
      { u: spec('u', FLOAT, [-1, 8, 1]), v: spec('v', FLOAT, null) },
      Object.fromEntries(B.outputs),
    );
    assert.match(refusal(A, rank3), /input 'u' is DT_FLOAT \[-1,8,1\] but 'a:y' is DT_FLOAT \[-1,8\]: ranks differ$/);
    const narrow = signature(
      { u: spec('u', FLOAT, [-1, 7]), v: spec('v', FLOAT, null) },
      Object.fromEntries(B.outputs),
    );
    assert.match(refusal(A, narrow), /: dim 1 differs$/);
  });

  it('refuses a request input fed to steps that want different dtypes', () => {
    const doubleV = signature({ u: spec('u', FLOAT, null), v: spec('v', 2, null) }, Object.fromEntries(B.outputs));
    assert.equal(
      refusal(A, doubleV),
      `${FILE}: step 'b' (model mb): input 'v' is DT_DOUBLE [unknown rank] but 'request:x' also feeds step 'a' input 'x', ` +
        'which is DT_FLOAT [-1,4]: dtypes differ',
    );
  });
});
