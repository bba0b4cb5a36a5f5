import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFloat32, formatFloat64, formatG } from '../../../../src/server/rest/json/json_decimal';

describe('formatFloat32 / formatFloat64 (TF-Serving WriteDecimal)', () => {
  it('writes six digits when they read back as the same float', () => {
    assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
    assert.equal(formatFloat32(Math.fround(3.5)), '3.5');
    assert.equal(formatFloat32(Math.fround(1e-5)), '1e-05');
    assert.equal(formatFloat32(1e6), '1e+06');
    assert.equal(formatFloat64(0.1), '0.1');
  });

  it('appends .0 to whole numbers not in exponent form', () => {
    assert.equal(formatFloat32(1), '1.0');
    assert.equal(formatFloat32(100000), '100000.0');
    assert.equal(formatFloat32(-0), '-0.0');
    assert.equal(formatFloat64(0), '0.0');
  });

  it('falls back to full precision (9 digits for float, 17 for double)', () => {
    assert.equal(formatFloat32(Math.fround(0.123456789)), '0.123456791');
    assert.equal(formatFloat32(16777217 - 1), '16777216.0');
    assert.equal(formatFloat64(1 / 3), '0.33333333333333331');
    assert.equal(formatFloat64(100000.5), '100000.5');
  });

  it('writes non-finite values as bare tokens', () => {
    assert.equal(formatFloat32(NaN), 'NaN');
    assert.equal(formatFloat32(Infinity), 'Infinity');
    assert.equal(formatFloat64(-Infinity), '-Infinity');
  });

  it('rounds exact ties to even, like printf', () => {
    assert.equal(formatG(12340.03125, 9), '12340.0312');
    assert.equal(formatG(12340.09375, 9), '12340.0938');
    assert.equal(formatFloat32(12340.03125), '12340.0312');
    assert.equal(formatG(2.5, 1), '2');
    assert.equal(formatG(3.5, 1), '4');
    assert.equal(formatG(0.375, 2), '0.38');
    assert.equal(formatG(0.125, 2), '0.12');
  });
});
