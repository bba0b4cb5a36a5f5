"""half_plus_two: y = 0.5 * x + 2 on a float vector, TF-Serving's classic example, in both frameworks
(PyTorch twice: TorchScript and an AOTInductor .pt2 package).

The factors are variables (parameters) rather than constants so that loading restores state.
"""
import numpy as np
import tensorflow as tf
import torch

from models import aoti_format, pytorch_format, tensorflow_format, warmup
from models.example import ExampleModel

A, B = 0.5, 2.0


class HalfPlusTwoTensorFlow(tf.Module):
    def __init__(self):
        super().__init__()
        self.a = tf.Variable(A, dtype=tf.float32)
        self.b = tf.Variable(B, dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def __call__(self, x):
        return {"y": self.a * x + self.b}


class HalfPlusTwoTorch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(A), requires_grad=False)
        self.b = torch.nn.Parameter(torch.tensor(B), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * x + self.b


def _export_tensorflow(version_dir):
    module = HalfPlusTwoTensorFlow()
    tensorflow_format.save(module, module.__call__, version_dir)
    warmup.write_predict_requests(version_dir, "half_plus_two", _sample_inputs())


def _export_torch(version_dir):
    signature = {
        "inputs": {"x": pytorch_format.tensor_spec("x", [-1])},
        "outputs": {"y": pytorch_format.tensor_spec("output_0", [-1])},
    }
    pytorch_format.save(HalfPlusTwoTorch(), signature, version_dir)
    warmup.write_predict_requests(version_dir, "half_plus_two_torch", _sample_inputs())


def _export_pt2(version_dir):
    # Any vector length: dimension 0 is dynamic (-1 in the recorded signature).
    length = torch.export.Dim("length")
    aoti_format.save(HalfPlusTwoTorch(), (torch.zeros(3),), {"x": {0: length}}, version_dir, output_names=["y"])


def _sample_inputs():
    return [
        {"x": np.array([1.0, 2.0, 5.0], dtype=np.float32)},
        {"x": np.array([-3.5, 0.0, 0.25, 1e6, -1e-3], dtype=np.float32)},
    ]


EXAMPLES = [
    ExampleModel("half_plus_two", "tensorflow", _export_tensorflow, tensorflow_format.run, _sample_inputs,
                 "y = 0.5 * x + 2"),
    ExampleModel("half_plus_two_torch", "pytorch", _export_torch, pytorch_format.run, _sample_inputs,
                 "y = 0.5 * x + 2"),
    ExampleModel("half_plus_two_pt2", "pytorch", _export_pt2, aoti_format.run, _sample_inputs,
                 "y = 0.5 * x + 2, AOTInductor"),
]
