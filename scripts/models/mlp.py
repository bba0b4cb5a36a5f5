"""mlp: three dense 512-wide layers (ReLU between them, none after the last) with identical
weights in both frameworks, so mlp_tf, mlp_torch (TorchScript) and mlp_pt2 (AOTInductor) must
answer the same. Mid-size on purpose: big enough for the benchmark to measure tensor handling,
small enough to export in a second (the AOTInductor compile takes longer: a C++ build)."""
import functools

import numpy as np
import tensorflow as tf
import torch

from models import aoti_format, pytorch_format, tensorflow_format
from models.example import ExampleModel

WIDTH = 512
LAYERS = 3
SEED = 512


@functools.cache
def weights() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(kernel [in, out], bias [out]) per layer; He-scaled so activations stay near unit size."""
    rng = np.random.default_rng(SEED)
    return tuple(
        (
            (rng.standard_normal((WIDTH, WIDTH)) * np.sqrt(2.0 / WIDTH)).astype(np.float32),
            (rng.standard_normal(WIDTH) * 0.1).astype(np.float32),
        )
        for _ in range(LAYERS)
    )


def parameter_count() -> int:
    return sum(kernel.size + bias.size for kernel, bias in weights())


class MlpTensorFlow(tf.Module):
    def __init__(self):
        super().__init__()
        self.layers = [(tf.Variable(kernel), tf.Variable(bias)) for kernel, bias in weights()]

    @tf.function(input_signature=[tf.TensorSpec([None, WIDTH], tf.float32)])
    def __call__(self, x):
        for i, (kernel, bias) in enumerate(self.layers):
            x = tf.matmul(x, kernel) + bias
            if i < len(self.layers) - 1:
                x = tf.nn.relu(x)
        return {"y": x}


class MlpTorch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for i, (kernel, bias) in enumerate(weights()):
            linear = torch.nn.Linear(WIDTH, WIDTH)
            with torch.no_grad():
                # Linear computes x @ weight.T + bias: its weight is the transposed kernel.
                linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
                linear.bias.copy_(torch.from_numpy(bias))
            layers.append(linear)
            if i < LAYERS - 1:
                layers.append(torch.nn.ReLU())
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def _export_tensorflow(version_dir):
    module = MlpTensorFlow()
    tensorflow_format.save(module, module.__call__, version_dir)


def _export_torch(version_dir):
    signature = {
        "inputs": {"x": pytorch_format.tensor_spec("x", [-1, WIDTH])},
        "outputs": {"y": pytorch_format.tensor_spec("output_0", [-1, WIDTH])},
    }
    pytorch_format.save(MlpTorch(), signature, version_dir)


def _export_pt2(version_dir):
    batch = torch.export.Dim("batch")
    aoti_format.save(MlpTorch(), (torch.zeros(2, WIDTH),), {"x": {0: batch}}, version_dir, output_names=["y"])


def _sample_inputs():
    rng = np.random.default_rng(SEED + 1)
    return [
        {"x": rng.standard_normal((1, WIDTH)).astype(np.float32)},
        {"x": rng.standard_normal((3, WIDTH)).astype(np.float32)},
    ]


_SUMMARY = f"{LAYERS} dense layers x {WIDTH} wide, {parameter_count():,} parameters"

EXAMPLES = [
    ExampleModel("mlp_tf", "tensorflow", _export_tensorflow, tensorflow_format.run, _sample_inputs, _SUMMARY),
    ExampleModel("mlp_torch", "pytorch", _export_torch, pytorch_format.run, _sample_inputs, _SUMMARY),
    ExampleModel("mlp_pt2", "pytorch", _export_pt2, aoti_format.run, _sample_inputs, f"{_SUMMARY}, AOTInductor"),
]
