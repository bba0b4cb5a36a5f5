import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  classificationResultJson,
  regressionResultJson,
} from '../../../../src/server/rest/json/json_examples_response';

describe('classificationResultJson', () => {
  test("TF-Serving's layout: one line of [label, score] pairs per example", () => {
    const text = classificationResultJson({
      classifications: [
        {
          classes: [
            { label: 'car', score: Math.fround(0.2) },
            { label: 'bike', score: Math.fround(0.7) },
          ],
        },
        {
          classes: [
            { label: 'car', score: 1 },
            { label: 'bike', score: 0 },
          ],
        },
      ],
    });
    assert.equal(text, '{\n    "results": [[["car", 0.2], ["bike", 0.7]], [["car", 1.0], ["bike", 0.0]]\n    ]\n}');
    assert.deepEqual(JSON.parse(text), {
      results: [
        [
          ['car', 0.2],
          ['bike', 0.7],
        ],
        [
          ['car', 1],
          ['bike', 0],
        ],
      ],
    });
  });

  test('a missing label is "", a missing score 0.0; labels are JSON-escaped', () => {
    const text = classificationResultJson({ classifications: [{ classes: [{ score: 0.5 }, { label: 'a"\n' }] }] });
    assert.equal(text, '{\n    "results": [[["", 0.5], ["a\\"\\n", 0.0]]\n    ]\n}');
  });
});

describe('regressionResultJson', () => {
  test("TF-Serving's layout: the values on one line, floats as WriteDecimal writes them", () => {
    const values = [0.2, 3, NaN, -Infinity, 1e-7].map((value) => ({ value: Math.fround(value) }));
    assert.equal(
      regressionResultJson({ regressions: values }),
      '{\n    "results": [0.2, 3.0, NaN, -Infinity, 1e-07]\n}',
    );
  });
});
