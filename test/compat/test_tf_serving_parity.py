"""duoserve against TF-Serving's own testdata models, answered as TensorFlow Serving answers them.

The models are built at setup with the same interface as TF-Serving's testdata
(test/fixtures/export_tf_serving_testdata.py): saved_model_half_plus_two_cpu declares its input x
as float32 [-1, 1], the TF2 export reads tf.Examples through one input placeholder per signature.
A server of its own serves them, with the stock tensorflow-serving-api client and plain HTTP.
"""
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
from tensorflow_serving.apis import prediction_service_pb2_grpc

from duoserve_process import DUOSERVE, REPO, DuoserveProcess, model_config_text, serving
from serving_client import content_tensor, predict_request
from tf_examples import multi_inference_request

TESTDATA = REPO / "var" / "models" / "test" / "tf_serving_testdata"
CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"
X = [1.0, 2.0, 5.0]


def parity_model(directory: str) -> Path:
    return TESTDATA / directory


@pytest.fixture(scope="module")
def testdata_server():
    if not TESTDATA.exists():
        pytest.fail(f"{TESTDATA} is missing; scripts/setup.sh exports it", pytrace=False)
    entries = [
        ("half_plus_two", parity_model("saved_model_half_plus_two_cpu"), "tensorflow"),
        ("half_plus_three", parity_model("saved_model_half_plus_three"), "tensorflow"),
        ("two_versions", parity_model("saved_model_half_plus_two_2_versions"), "tensorflow",
         'model_version_policy { all {} } version_labels { key: "stable" value: 123 } '
         'version_labels { key: "canary" value: 124 }'),
        ("half_plus_two_tf2", parity_model("saved_model_half_plus_two_tf2_cpu"), "tensorflow"),
    ]
    with serving(entries, log_name="parity.log", flags=("--allow_version_labels_for_unavailable_models",)) as server:
        yield server


@pytest.fixture(scope="module")
def stub(testdata_server):
    with grpc.insecure_channel(testdata_server.grpc_target) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


# 1. Shapes are the TF session's to judge, not the signature's: x is declared [-1, 1].

@pytest.mark.parametrize("path, body, want", [
    ("half_plus_two", {"instances": X}, {"predictions": [2.5, 3.0, 4.5]}),
    ("half_plus_two", {"inputs": {"x": X}}, {"outputs": [2.5, 3.0, 4.5]}),
    ("half_plus_two", {"inputs": X}, {"outputs": [2.5, 3.0, 4.5]}),
    ("half_plus_two", {"instances": [[1.0], [2.0]]}, {"predictions": [[2.5], [3.0]]}),
    ("half_plus_three", {"instances": X}, {"predictions": [3.5, 4.0, 5.5]}),
    ("two_versions/labels/stable", {"instances": X}, {"predictions": [2.5, 3.0, 4.5]}),
    ("two_versions/versions/124", {"inputs": {"x": X}}, {"outputs": [2.5, 3.0, 4.5]}),
])
def test_rest_predict_leaves_shapes_to_tensorflow(testdata_server, path, body, want):
    reply = requests.post(f"{testdata_server.rest_url}/v1/models/{path}:predict", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json() == want


def test_grpc_predict_leaves_shapes_to_tensorflow(stub):
    x = np.array(X, np.float32)
    response = stub.Predict(predict_request("half_plus_two", {"x": content_tensor(x)}), timeout=30)
    assert list(response.outputs["y"].float_val) == [2.5, 3.0, 4.5]
    assert [d.size for d in response.outputs["y"].tensor_shape.dim] == [3]


# 2. MultiInference over signatures that read different input placeholders (TF2 export).

def test_multi_inference_feeds_every_task_its_input_tensor(stub):
    flowers = [{"x": 1.0}, {"x": 2.0}]
    request = multi_inference_request([("classify_x_to_y", CLASSIFY), ("regress_x_to_y", REGRESS),
                                       ("regress_x_to_y2", REGRESS)], flowers=flowers, model="half_plus_two_tf2")
    response = stub.MultiInference(request, timeout=30)
    classified, regressed, regressed2 = response.results
    assert [[c.score for c in k.classes] for k in classified.classification_result.classifications] == [[2.5], [3.0]]
    assert [r.value for r in regressed.regression_result.regressions] == [2.5, 3.0]
    assert [r.value for r in regressed2.regression_result.regressions] == [3.5, 4.0]
    assert [r.model_spec.signature_name for r in response.results] == [
        "classify_x_to_y", "regress_x_to_y", "regress_x_to_y2"]


# 3. Start-up errors in TF-Serving's words.

def run_duoserve(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([str(DUOSERVE), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_unparseable_model_config_file(tmp_path):
    bad = tmp_path / "bad_model_config.txt"
    bad.write_text("improperly formatted file")
    result = run_duoserve("--port=1", f"--model_config_file={bad}")
    assert result.returncode == 255
    assert result.stdout.startswith(f"Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '{bad}'")
    assert "Error parsing text-format tensorflow.serving.ModelServerConfig: 1:1: " in result.stdout


def test_missing_config_file_and_flag_combinations(tmp_path):
    result = run_duoserve("--port=1", f"--model_config_file={tmp_path / 'none.config'}")
    assert (result.returncode, result.stdout) == (
        255, f"Failed to start server. Error: NOT_FOUND: {tmp_path / 'none.config'}; No such file or directory\n")
    result = run_duoserve("--port=0", "--model_base_path=/models/m")
    assert (result.returncode, result.stdout) == (
        255, "Failed to start server. Error: INVALID_ARGUMENT: At least one of server_options.grpc_port or "
             "server_options.grpc_socket_path must be set.\n")


# 6. --grpc_socket_path: the longest path a sun_path holds, and a socket left by a killed server.

def socket_path_of_length(directory: Path, length: int) -> Path:
    name_length = length - len(str(directory)) - 1
    assert name_length > 0, f"{directory} is too long for a {length}-byte socket path"
    return directory / ("s" * name_length)


def serve_on_socket(socket_path: Path, *flags) -> DuoserveProcess:
    config = socket_path.parent / "models.config"
    config.write_text(model_config_text([("half_plus_two", parity_model("saved_model_half_plus_two_cpu"), "tensorflow")]))
    return DuoserveProcess.start(unix_socket=socket_path, config=config, flags=flags, log_name="socket.log")


def predict_over(socket_path: Path) -> list:
    with grpc.insecure_channel(f"unix:{socket_path}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(predict_request("half_plus_two", {"x": content_tensor(np.array(X, np.float32))}),
                                timeout=30)
        return list(response.outputs["y"].float_val)


@pytest.fixture
def short_dir():
    directory = Path(tempfile.mkdtemp(prefix="ds-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_socket_path_of_107_bytes_over_a_stale_socket(short_dir):
    socket_path = socket_path_of_length(short_dir, 107)
    # What a killed server leaves: a bound socket file that nobody listens on.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(socket_path))
    stale.close()
    assert socket_path.is_socket()
    server = serve_on_socket(socket_path)
    try:
        server.wait_until_available(120)
        assert predict_over(socket_path) == [2.5, 3.0, 4.5]
    finally:
        server.stop()


def test_socket_path_of_108_bytes_is_refused_not_truncated(short_dir):
    socket_path = socket_path_of_length(short_dir, 108)
    result = run_duoserve(f"--grpc_socket_path={socket_path}", "--port=1", "--model_base_path=/models/m")
    assert result.returncode == 255
    assert result.stdout == (
        "Failed to start server. Error: INVALID_ARGUMENT: --grpc_socket_path is 108 bytes long; a Unix socket "
        "path may have at most 107 (sun_path). Use a shorter path, e.g. a directory nearer to /.\n")
    assert list(short_dir.iterdir()) == [], "nothing was bound at a truncated path"


def test_a_file_that_is_not_a_socket_is_left_alone(short_dir):
    socket_path = short_dir / "grpc.sock"
    socket_path.write_text("not a socket")
    server = serve_on_socket(socket_path)
    try:
        with pytest.raises(RuntimeError, match="exited with code 255"):
            server.wait_until_available(60)
        assert (f"Failed to start server. Error: INVALID_ARGUMENT: Failed to BuildAndStart gRPC server: "
                f"cannot listen on unix:{socket_path}") in server.log_tail()
    finally:
        server.stop()
    assert socket_path.read_text() == "not a socket"


def test_grpc_on_the_socket_alone_with_port_0(short_dir):
    socket_path = short_dir / "grpc.sock"
    config = short_dir / "models.config"
    config.write_text(model_config_text([("half_plus_two", parity_model("saved_model_half_plus_two_cpu"), "tensorflow")]))
    process = subprocess.Popen([str(DUOSERVE), "--port=0", f"--grpc_socket_path={socket_path}",
                                f"--model_config_file={config}"], cwd=REPO, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with grpc.insecure_channel(f"unix:{socket_path}") as channel:
            grpc.channel_ready_future(channel).result(timeout=120)  # listens once the model is AVAILABLE
        assert predict_over(socket_path) == [2.5, 3.0, 4.5]
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert "Running gRPC ModelServer at 0.0.0.0" not in output
    assert f"Running gRPC ModelServer at UNIX socket {socket_path}" in output
