"""--enable_serialization_as_tensor_content: every Predict output comes back in tensor_content, as
TF-Serving's kAsProtoContent writes it, for both frameworks; the stock client's make_ndarray reads
it. A server of its own, since the session's server answers with the typed fields."""
import shutil
import tempfile
from pathlib import Path

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from duoserve_process import REPO, DuoserveProcess
from serving_client import HALF_PLUS_TWO_MODELS, content_tensor, predict_request

EXAMPLES = REPO / "var" / "models" / "examples"
PLATFORMS = {"half_plus_two": "tensorflow", "half_plus_two_torch": "pytorch"}


@pytest.fixture(scope="module")
def content_predict():
    config_dir = Path(tempfile.mkdtemp(prefix="duoserve-content-"))
    config = config_dir / "models.config"
    config.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{name}" base_path: "{EXAMPLES / name}" model_platform: "{platform}" }}\n'
        for name, platform in PLATFORMS.items()) + "}\n")
    server = DuoserveProcess.start(config=config, log_name="tensor_content.log",
                                   flags=("--enable_serialization_as_tensor_content",))
    channel = None
    try:
        server.wait_until_available(120)
        channel = grpc.insecure_channel(server.grpc_target)
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict
    finally:
        if channel is not None:
            channel.close()
        server.stop()
        shutil.rmtree(config_dir, ignore_errors=True)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_outputs_are_tensor_content_without_any_header(content_predict, model):
    x = np.array([1.0, 2.0, 5.0], np.float32)
    response = content_predict(predict_request(model, {"x": content_tensor(x)}), timeout=30)
    y = response.outputs["y"]
    assert y.dtype == types_pb2.DT_FLOAT
    assert len(y.tensor_content) == 3 * 4 and not y.float_val
    np.testing.assert_array_equal(tf.make_ndarray(y), x / 2 + 2)
