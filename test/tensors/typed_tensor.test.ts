import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataType } from '../../src/tensors/data_type';
import { dataTypeOfString, dataTypeString } from '../../src/tensors/data_type_string';
import { tensorValues } from '../../src/tensors/typed_tensor';

describe('typed tensor values', () => {
  it('view the bytes with the array type each dtype calls for, without copying', () => {
    const buffer = new Float64Array([1, -2]).buffer;
    const int64 = tensorValues(DataType.DT_INT64, new BigInt64Array([5n, -(2n ** 62n)]).buffer, undefined);
    assert.ok(int64 instanceof BigInt64Array);
    assert.deepEqual([...int64], [5n, -(2n ** 62n)]);
    const doubles = tensorValues(DataType.DT_DOUBLE, buffer, undefined) as Float64Array;
    assert.equal(doubles.buffer, buffer);
    assert.ok(tensorValues(DataType.DT_HALF, new ArrayBuffer(4), undefined) instanceof Uint16Array);
    assert.ok(tensorValues(DataType.DT_BOOL, new ArrayBuffer(2), undefined) instanceof Uint8Array);
    const strings = [Buffer.from('a')];
    assert.equal(tensorValues(DataType.DT_STRING, undefined, strings), strings);
    assert.throws(
      () => tensorValues(0, new ArrayBuffer(0), undefined),
      /no typed array holds unknown dtype enum \(0\)/,
    );
  });

  it('names dtypes as DataTypeString() does, both ways', () => {
    for (const dtype of Object.values(DataType).filter((dtype) => dtype !== DataType.DT_INVALID)) {
      assert.equal(dataTypeOfString(dataTypeString(dtype)), dtype);
    }
    assert.equal(dataTypeOfString('float32'), undefined);
  });
});
