"""tf.Example requests for the bundled iris model (scripts/models/iris.py), built with the stock
tensorflow / tensorflow-serving-api classes, and what TensorFlow computes for them in Python by
running the exported SavedModel itself. Nothing here is duoserve's own code."""
import functools

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2, inference_pb2, regression_pb2

from duoserve_process import REPO

IRIS = "iris"
IRIS_DIR = REPO / "var" / "models" / "examples" / IRIS / "1"
CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"
LABELS = ["setosa", "versicolor", "virginica"]

# One flower of each kind, and one in between.
FLOWERS = [
    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    {"sepal_length": 6.4, "sepal_width": 3.2, "petal_length": 4.5, "petal_width": 1.5},
    {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5},
    {"sepal_length": 6.0, "sepal_width": 2.7, "petal_length": 5.1, "petal_width": 1.6},
]


def example(features: dict) -> tf.train.Example:
    """float features as float_list; int features as int64_list; str/bytes as bytes_list."""
    proto = tf.train.Example()
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        feature = proto.features.feature[name]
        if isinstance(values[0], float):
            feature.float_list.value.extend(values)
        elif isinstance(values[0], int):
            feature.int64_list.value.extend(values)
        else:
            feature.bytes_list.value.extend(v.encode() if isinstance(v, str) else v for v in values)
    return proto


def merged(context: dict, features: dict) -> tf.train.Example:
    """The example TF-Serving feeds for ExampleListWithContext: the context merged with the example."""
    result = example(context)
    result.MergeFrom(example(features))
    return result


@functools.cache
def _iris():
    return tf.saved_model.load(str(IRIS_DIR))


def tensorflow_outputs(signature: str, examples: list) -> dict:
    """What the SavedModel's signature returns for the serialized examples, by output alias."""
    serialized = tf.constant([e.SerializeToString() for e in examples])
    return {alias: t.numpy() for alias, t in _iris().signatures[signature](inputs=serialized).items()}


def fill_input(input_proto, flowers: list, context: dict | None = None) -> None:
    if context is None:
        input_proto.example_list.examples.extend(example(f) for f in flowers)
    else:
        input_proto.example_list_with_context.context.CopyFrom(example(context))
        input_proto.example_list_with_context.examples.extend(example(f) for f in flowers)


def classification_request(model=IRIS, flowers=FLOWERS, *, signature_name=None, context=None):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = model
    if signature_name is not None:
        request.model_spec.signature_name = signature_name
    fill_input(request.input, flowers, context)
    return request


def regression_request(model=IRIS, flowers=FLOWERS, *, signature_name="petal_width", context=None):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = model
    if signature_name is not None:
        request.model_spec.signature_name = signature_name
    fill_input(request.input, flowers, context)
    return request


def multi_inference_request(tasks, flowers=FLOWERS, model=IRIS):
    """tasks: (signature_name, method_name) pairs."""
    request = inference_pb2.MultiInferenceRequest()
    for signature_name, method_name in tasks:
        task = request.tasks.add()
        task.model_spec.name = model
        task.model_spec.signature_name = signature_name
        task.method_name = method_name
    fill_input(request.input, flowers)
    return request


def assert_classifications(result, classes: np.ndarray, scores: np.ndarray) -> None:
    """A ClassificationResult against the classes/scores TensorFlow computed."""
    assert len(result.classifications) == len(scores)
    for got, want_labels, want_scores in zip(result.classifications, classes, scores):
        assert [c.label.encode() for c in got.classes] == list(want_labels)
        np.testing.assert_allclose([c.score for c in got.classes], want_scores, rtol=1e-6)


def assert_regressions(result, outputs: np.ndarray) -> None:
    np.testing.assert_allclose([r.value for r in result.regressions], outputs, rtol=1e-6)
