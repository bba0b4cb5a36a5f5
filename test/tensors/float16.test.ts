import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bfloat16Bits, bfloat16ToNumber, halfBits, halfToNumber } from '../../src/tensors/float16';

describe('float16 bit patterns', () => {
  it('round-trips every non-NaN half', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToNumber(bits);
      if (Number.isNaN(value)) assert.ok(Number.isNaN(halfToNumber(halfBits(value))));
      else assert.equal(halfBits(value), bits, `bits ${bits.toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, and saturates to infinity', () => {
    assert.equal(halfBits(1 + 2 ** -11), 0x3c00); // tie -> even (1.0)
    assert.equal(halfBits(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
    assert.equal(halfBits(1 + 2 ** -11 + 2 ** -20), 0x3c01);
    assert.equal(halfBits(65520), 0x7c00);
    assert.equal(halfBits(-1e6), 0xfc00);
    assert.equal(halfBits(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal
    assert.equal(halfBits(2 ** -25 + 2 ** -30), 0x0001);
    assert.equal(halfBits(-0), 0x8000);
  });

  it('round-trips every non-NaN bfloat16 and rounds ties to even', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = bfloat16ToNumber(bits);
      if (!Number.isNaN(value)) assert.equal(bfloat16Bits(value), bits);
    }
    assert.equal(bfloat16Bits(1 + 2 ** -8), 0x3f80);
    assert.equal(bfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
    assert.ok(Number.isNaN(bfloat16ToNumber(bfloat16Bits(NaN))));
  });
});
