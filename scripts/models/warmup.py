"""A version's warmup requests: assets.extra/tf_serving_warmup_requests, a TFRecord file of
PredictionLog records that the server replays before serving the version (TF-Serving's SavedModel
warmup; duoserve does it for every platform)."""
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"


def write_predict_requests(version_dir: Path, model_name: str, requests: list[dict[str, np.ndarray]]) -> None:
    """One predict_log record per request (inputs keyed by signature alias)."""
    path = version_dir / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for inputs in requests:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default"),
                inputs={alias: tf.make_tensor_proto(value) for alias, value in inputs.items()},
            )
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
