"""Request logging (ModelConfig.logging_config) against bin/duoserve: Predict and Classify over
gRPC (the stock tensorflow-serving-api client) and REST (plain HTTP), the files read back with
the stock classes (tf.data.TFRecordDataset, tensorflow_serving.apis.prediction_log_pb2), and a
logged Predict file used as a SavedModel warmup file."""
import base64
import re
import shutil

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2, prediction_service_pb2_grpc

from duoserve_process import REPO, serving
from serving_client import predict_request
from tf_examples import CLASSIFY, FLOWERS, IRIS, REGRESS, classification_request, example, multi_inference_request, \
    regression_request

EXAMPLES = REPO / "var" / "models" / "examples"


def logging_config(prefix, rate=1.0):
    return (f'logging_config {{ log_collector_config {{ type: "tfrecord" filename_prefix: "{prefix}" }} '
            f'sampling_config {{ sampling_rate: {rate} }} }}')


def read_logs(prefix):
    """Every PredictionLog in the files of `prefix`, in the order they were written."""
    files = sorted(prefix.parent.glob(prefix.name + ".*"), key=lambda f: int(f.name.rsplit("-", 1)[1]))
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for file in files for record in tf.data.TFRecordDataset(str(file))]


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """The requests sent to a server logging half_plus_two and iris at rate 1, half_plus_two_torch
    at rate 0; the server is stopped (its files closed) before the tests read them."""
    logs = tmp_path_factory.mktemp("request-logs")
    x = tf.make_tensor_proto(np.array([1.0, 2.0, 5.0], np.float32))
    sent = {
        "predict": predict_request("half_plus_two", {"x": x}),
        "classify": classification_request(IRIS, FLOWERS[:2]),
        "regress": regression_request(IRIS, FLOWERS[:1]),
        "multi_inference": multi_inference_request([("serving_default", CLASSIFY), ("petal_width", REGRESS)]),
    }
    received = {}
    entries = [
        ("half_plus_two", EXAMPLES / "half_plus_two", "tensorflow", logging_config(logs / "hpt")),
        (IRIS, EXAMPLES / IRIS, "tensorflow", logging_config(logs / "iris")),
        ("half_plus_two_torch", EXAMPLES / "half_plus_two_torch", "pytorch", logging_config(logs / "torch", 0.0)),
        ("iris_strings", EXAMPLES / IRIS, "tensorflow", logging_config(logs / "strings")),
    ]
    with serving(entries, log_name="request_logging.log") as server:
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            received["predict"] = stub.Predict(sent["predict"], timeout=30)
            received["classify"] = stub.Classify(sent["classify"], timeout=30)
            received["regress"] = stub.Regress(sent["regress"], timeout=30)
            received["multi_inference"] = stub.MultiInference(sent["multi_inference"], timeout=30)
            for _ in range(3):
                stub.Predict(predict_request("half_plus_two_torch", {"x": x}), timeout=30)
        models = f"{server.rest_url}/v1/models"
        rest = [
            requests.post(f"{models}/half_plus_two/versions/1:predict", json={"instances": [1.0, 2.0]}, timeout=30),
            requests.post(f"{models}/{IRIS}:classify", json={"examples": FLOWERS[2:]}, timeout=30),
            # DT_STRING inputs: read by the TypeScript codec, not the native one.
            requests.post(f"{models}/iris_strings:predict", timeout=30, json={
                "instances": [{"b64": base64.b64encode(example(f).SerializeToString()).decode()} for f in FLOWERS[:2]]}),
        ]
        for reply in rest:
            assert reply.status_code == 200, reply.text
    return {"dir": logs, "sent": sent, "received": received,
            "hpt": read_logs(logs / "hpt"), "iris": read_logs(logs / "iris"), "strings": read_logs(logs / "strings")}


def test_grpc_predict_is_logged_as_sent_and_answered(logged):
    grpc_log = logged["hpt"][0]
    assert grpc_log.WhichOneof("log_type") == "predict_log"
    assert grpc_log.predict_log.request == logged["sent"]["predict"]
    assert grpc_log.predict_log.response == logged["received"]["predict"]
    spec = grpc_log.log_metadata.model_spec
    assert (spec.name, spec.version.value, spec.signature_name) == ("half_plus_two", 1, "serving_default")
    assert grpc_log.log_metadata.sampling_config.sampling_rate == 1.0
    assert list(grpc_log.log_metadata.saved_model_tags) == ["serve"]
    assert grpc_log.log_metadata.timestamp_secs > 0


def test_rest_predict_is_logged_as_the_predict_request_the_json_stands_for(logged):
    assert len(logged["hpt"]) == 2
    rest_log = logged["hpt"][1].predict_log
    assert rest_log.request.model_spec.name == "half_plus_two"
    assert rest_log.request.model_spec.version.value == 1
    np.testing.assert_array_equal(tf.make_ndarray(rest_log.request.inputs["x"]), np.array([1.0, 2.0], np.float32))
    np.testing.assert_array_equal(tf.make_ndarray(rest_log.response.outputs["y"]), np.array([2.5, 3.0], np.float32))
    assert rest_log.response.model_spec.version.value == 1


def test_rest_predict_of_strings_is_logged(logged):
    [log] = logged["strings"]
    assert list(tf.make_ndarray(log.predict_log.request.inputs["inputs"])) == [
        example(f).SerializeToString() for f in FLOWERS[:2]]
    assert list(tf.make_ndarray(log.predict_log.response.outputs["classes"]).shape) == [2, 3]


def test_classify_is_logged_over_grpc_and_rest(logged):
    grpc_log, _, _, rest_log = logged["iris"]
    assert grpc_log.classify_log.request == logged["sent"]["classify"]
    assert grpc_log.classify_log.response == logged["received"]["classify"]
    assert grpc_log.log_metadata.model_spec.name == IRIS
    assert grpc_log.log_metadata.model_spec.signature_name == "serving_default"
    # REST: the ClassificationRequest TF-Serving builds from the JSON (a float is a float_list).
    assert list(rest_log.classify_log.request.input.example_list.examples) == [example(f) for f in FLOWERS[2:]]
    assert len(rest_log.classify_log.response.result.classifications) == 2


def test_regress_and_multi_inference_are_logged(logged):
    _, regress, multi, _ = logged["iris"]
    assert regress.regress_log.request == logged["sent"]["regress"]
    assert regress.regress_log.response == logged["received"]["regress"]
    assert regress.log_metadata.model_spec.signature_name == "petal_width"
    assert multi.multi_inference_log.request == logged["sent"]["multi_inference"]
    assert multi.multi_inference_log.response == logged["received"]["multi_inference"]
    assert (multi.log_metadata.model_spec.name, multi.log_metadata.model_spec.version.value) == (IRIS, 1)


def test_a_model_sampled_at_rate_0_writes_nothing(logged):
    assert list(logged["dir"].glob("torch.*")) == []


def test_a_logged_predict_file_is_a_warmup_file(logged, tmp_path):
    base = tmp_path / "half_plus_two"
    shutil.copytree(EXAMPLES / "half_plus_two", base)
    warmup = base / "1" / "assets.extra" / "tf_serving_warmup_requests"
    warmup.parent.mkdir(exist_ok=True)
    [file] = logged["dir"].glob("hpt.*")
    shutil.copyfile(file, warmup)
    with serving([("half_plus_two", base, "tensorflow")], log_name="request_log_warmup.log",
                 flags=("--enable_model_warmup=true",)) as server:
        pass
    log = server.log_path.read_text()
    assert re.search(r"Finished warmup of \S+/1: 2 records replayed", log), log[-3000:]
