"""Writing and running a TensorFlow SavedModel version directory (saved_model.pb + variables/)."""
from pathlib import Path

import numpy as np
import tensorflow as tf

SERVING_SIGNATURE = "serving_default"


def save(module: tf.Module, serving_function, version_dir: Path) -> None:
    """`serving_function` is a tf.function with an input_signature returning a dict of outputs:
    its argument names become the signature's input aliases and the dict keys its output aliases."""
    tf.saved_model.save(module, str(version_dir), signatures={SERVING_SIGNATURE: serving_function})


def run(version_dir: Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    loaded = tf.saved_model.load(str(version_dir))
    serve = loaded.signatures[SERVING_SIGNATURE]
    outputs = serve(**{alias: tf.constant(value) for alias, value in inputs.items()})
    return {alias: tensor.numpy() for alias, tensor in outputs.items()}
