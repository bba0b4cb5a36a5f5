"""features -> ranker: a TensorFlow model feeding a PyTorch model, served as the chain
features_to_ranker (model_platform "chain", see proto/duoserve/chain.proto), and as
features_topk, which also runs the glue around them in JavaScript function steps: raw features
standardized before the TensorFlow model, the top k items picked after the PyTorch one.

features (TensorFlow): x [B, 32] -> features [B, 256] = tanh(x @ W + b)
ranker   (PyTorch):    features [B, 256] -> score [B] = sigmoid(features . w + c)

Cheap on purpose: the chain's point is handing the [B, 256] tensor from one framework to the
other inside the server, and at B = 1024 that tensor is 1 MB (the chain benchmark's case).
"""
import functools
import json
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
import torch

from models import pytorch_format, tensorflow_format
from models.example import ExampleModel

RAW = 32
FEATURES = 256
SEED = 256
CHAIN_FILE = "chain.pbtxt"

CHAIN_TEXT = """\
# features (TensorFlow) turns raw rows into feature vectors; ranker (PyTorch) scores them.
# The [B, 256] features pass from one framework to the other inside the server.
input { name: "x" }
step {
  name: "featurize"
  model: "features"
  inputs { key: "x" value: "request:x" }
}
step {
  name: "rank"
  model: "ranker"
  inputs { key: "features" value: "featurize:features" }
}
output { name: "score" source: "rank:score" }
"""


TOPK_STEPS = Path(__file__).resolve().parent / "features_topk" / "steps.js"

TOPK_CHAIN_TEXT = """\
# features_topk: raw features in, the k best item ids out. normalize and top_k are JavaScript
# (steps.js beside this file) run on the chain's worker threads; featurize is TensorFlow,
# rank is PyTorch.
input { name: "raw" }
input { name: "item_ids" }
input { name: "k" }
step {
  name: "normalize"
  function: "normalize"
  module: "steps.js"
  function_input { name: "raw" dtype: DT_FLOAT shape: [-1, 32] }
  function_output { name: "x" dtype: DT_FLOAT shape: [-1, 32] }
  inputs { key: "raw" value: "request:raw" }
}
step {
  name: "featurize"
  model: "features"
  inputs { key: "x" value: "normalize:x" }
}
step {
  name: "rank"
  model: "ranker"
  inputs { key: "features" value: "featurize:features" }
}
step {
  name: "top_k"
  function: "topK"
  module: "steps.js"
  function_input { name: "score" dtype: DT_FLOAT shape: [-1] }
  function_input { name: "item_ids" dtype: DT_INT64 shape: [-1] }
  function_input { name: "k" dtype: DT_INT32 shape: [] }
  function_output { name: "item_ids" dtype: DT_INT64 shape: [-1] }
  function_output { name: "scores" dtype: DT_FLOAT shape: [-1] }
  time_limit_ms: 200
  inputs { key: "score" value: "rank:score" }
  inputs { key: "item_ids" value: "request:item_ids" }
  inputs { key: "k" value: "request:k" }
}
output { name: "item_ids" source: "top_k:item_ids" }
output { name: "scores" source: "top_k:scores" }
"""


@functools.cache
def raw_feature_stats():
    """Per-feature (mean, std) of the raw features features_topk standardizes."""
    rng = np.random.default_rng(SEED + 3)
    mean = (rng.standard_normal(RAW) * 10).astype(np.float32)
    std = rng.uniform(0.5, 5.0, RAW).astype(np.float32)
    return mean, std


@functools.cache
def weights():
    """(kernel [RAW, FEATURES], bias [FEATURES]) of features; (w [FEATURES], c) of ranker."""
    rng = np.random.default_rng(SEED)
    kernel = (rng.standard_normal((RAW, FEATURES)) / np.sqrt(RAW)).astype(np.float32)
    bias = (rng.standard_normal(FEATURES) * 0.1).astype(np.float32)
    w = (rng.standard_normal(FEATURES) / np.sqrt(FEATURES)).astype(np.float32)
    return kernel, bias, w, np.float32(0.25)


class FeaturesTensorFlow(tf.Module):
    def __init__(self):
        super().__init__()
        kernel, bias, _, _ = weights()
        self.kernel = tf.Variable(kernel)
        self.bias = tf.Variable(bias)

    @tf.function(input_signature=[tf.TensorSpec([None, RAW], tf.float32)])
    def __call__(self, x):
        return {"features": tf.tanh(tf.matmul(x, self.kernel) + self.bias)}


class RankerTorch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        _, _, w, c = weights()
        self.weight = torch.nn.Parameter(torch.from_numpy(w.copy()), requires_grad=False)
        self.bias = torch.nn.Parameter(torch.tensor(float(c)), requires_grad=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(features @ self.weight + self.bias)


def _export_features(version_dir):
    module = FeaturesTensorFlow()
    tensorflow_format.save(module, module.__call__, version_dir)


def _export_ranker(version_dir):
    signature = {
        "inputs": {"features": pytorch_format.tensor_spec("features", [-1, FEATURES])},
        "outputs": {"score": pytorch_format.tensor_spec("output_0", [-1])},
    }
    pytorch_format.save(RankerTorch(), signature, version_dir)


def _export_chain(version_dir: Path):
    version_dir.mkdir(parents=True)
    (version_dir / CHAIN_FILE).write_text(CHAIN_TEXT)


def _run_chain(version_dir: Path, inputs):
    """The two exported models one after the other, as the chain runs them. The examples
    directory is three levels up from the staged version (<examples>/.staging/<name>/1)."""
    examples = version_dir.parents[2]
    features = tensorflow_format.run(examples / "features" / "1", {"x": inputs["x"]})
    return pytorch_format.run(examples / "ranker" / "1", {"features": features["features"]})


def _export_topk_chain(version_dir: Path):
    version_dir.mkdir(parents=True)
    (version_dir / CHAIN_FILE).write_text(TOPK_CHAIN_TEXT)
    shutil.copyfile(TOPK_STEPS, version_dir / "steps.js")
    mean, std = raw_feature_stats()
    (version_dir / "feature_stats.json").write_text(json.dumps({"mean": mean.tolist(), "std": std.tolist()}) + "\n")


def _run_topk_chain(version_dir: Path, inputs):
    """The chain's steps in Python: standardize (float32), the two models, the k best (stable)."""
    mean, std = raw_feature_stats()
    x = ((inputs["raw"] - mean) / std).astype(np.float32)
    score = _run_chain(version_dir, {"x": x})["score"]
    best = np.argsort(-score, kind="stable")[: int(inputs["k"])]
    return {"item_ids": inputs["item_ids"][best], "scores": score[best]}


def _topk_inputs():
    rng = np.random.default_rng(SEED + 4)
    mean, std = raw_feature_stats()
    cases = []
    for rows, k in ((8, 3), (50, 10)):
        raw = (rng.standard_normal((rows, RAW)).astype(np.float32) * std + mean).astype(np.float32)
        item_ids = rng.choice(10**9, rows, replace=False).astype(np.int64)
        cases.append({"raw": raw, "item_ids": item_ids, "k": np.array(k, np.int32)})
    return cases


def _raw_inputs():
    rng = np.random.default_rng(SEED + 1)
    return [{"x": rng.standard_normal((rows, RAW)).astype(np.float32)} for rows in (1, 4)]


def _feature_inputs():
    rng = np.random.default_rng(SEED + 2)
    return [{"features": np.tanh(rng.standard_normal((rows, FEATURES))).astype(np.float32)} for rows in (1, 4)]


EXAMPLES = [
    ExampleModel("features", "tensorflow", _export_features, tensorflow_format.run, _raw_inputs,
                 f"tanh(x @ W + b), {RAW} -> {FEATURES}"),
    ExampleModel("ranker", "pytorch", _export_ranker, pytorch_format.run, _feature_inputs,
                 f"sigmoid(features . w + c), {FEATURES} -> 1"),
]

# Listed after every model: a chain's load waits for the models it uses, and loads start in
# config order (one at a time by default).
CHAINS = [
    ExampleModel("features_to_ranker", "chain", _export_chain, _run_chain, _raw_inputs,
                 "features (TensorFlow) -> ranker (PyTorch)"),
    ExampleModel("features_topk", "chain", _export_topk_chain, _run_topk_chain, _topk_inputs,
                 "normalize (JS) -> features (TensorFlow) -> ranker (PyTorch) -> top_k (JS)"),
]
