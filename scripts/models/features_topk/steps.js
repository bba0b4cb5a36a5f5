// The function steps of the example chain features_topk (chain.pbtxt beside this file, written
// by scripts/models/ranking.py). Plain JavaScript, as a chain ships it: a TypeScript author
// compiles with tsc first, typing each function as the StepFunction of
// src/platforms/chain/step_function_types.ts.
'use strict';

// Per-feature mean and standard deviation of the raw features, written beside this module.
const { mean, std } = require('./feature_stats.json');

/** Raw features [B, 32] -> standardized features [B, 32], in float32 arithmetic (as numpy's). */
exports.normalize = ({ raw }) => {
  const width = mean.length;
  const out = new Float32Array(raw.data.length);
  for (let i = 0; i < raw.data.length; i++) {
    const j = i % width;
    out[i] = Math.fround(Math.fround(raw.data[i] - mean[j]) / std[j]);
  }
  return { x: { shape: raw.shape, data: out } };
};

/** The k best-scored items, best first (ties: the earlier item first). */
exports.topK = ({ score, item_ids: itemIds, k }) => {
  if (itemIds.data.length !== score.data.length) {
    throw new Error(`item_ids has ${itemIds.data.length} items but x has ${score.data.length} rows`);
  }
  const count = Math.min(Math.max(k.data[0], 0), score.data.length);
  const order = Array.from(score.data.keys()).sort((a, b) => score.data[b] - score.data[a] || a - b);
  const best = order.slice(0, count);
  return {
    item_ids: { shape: [count], data: BigInt64Array.from(best, (i) => itemIds.data[i]) },
    scores: { shape: [count], data: Float32Array.from(best, (i) => score.data[i]) },
  };
};
