"""A version directory that holds no model (TF-Serving's bad_half_plus_two: an old checkpoint
export without saved_model.pb), seen with the stock client and over REST: once it has settled
it is loaded, its error shows in GetModelStatus with state END, the previous version keeps
serving, and the attempts follow --max_num_load_retries. Its own bin/duoserve, over copies of
the example models, so that the session's models stay as they are."""
import shutil
import tempfile
import time
from pathlib import Path

import grpc
import pytest
import requests
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc, prediction_service_pb2_grpc

from duoserve_process import REPO, DuoserveProcess
from serving_client import float_val_tensor, predict_request

EXAMPLES = REPO / "var" / "models" / "examples"
OLD_EXPORT_FILES = ["checkpoint", "export.index", "export.data-00000-of-00001", "export.meta"]
# The platform's own words for a directory without its model file.
MISSING_MODEL = {
    "half_plus_two": "Could not find SavedModel .pb or .pbtxt at supplied export directory path: {dir}",
    "half_plus_two_torch": "no PyTorch model in {dir}: expected model.pt (TorchScript) or one *.pt2 file",
}
PLATFORMS = {"half_plus_two": "tensorflow", "half_plus_two_torch": "pytorch"}
MAX_NUM_LOAD_RETRIES = 2
State = get_model_status_pb2.ModelVersionStatus
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]


@pytest.fixture(scope="module")
def bad_version_server():
    root = Path(tempfile.mkdtemp(prefix="duoserve-bad-version-"))
    entries = []
    for model, platform in PLATFORMS.items():
        shutil.copytree(EXAMPLES / model / "1", root / "models" / model / "1")
        entries.append(f'config {{ name: "{model}" base_path: "{root / "models" / model}" '
                       f'model_platform: "{platform}" }}')
    config = root / "models.config"
    config.write_text("model_config_list {\n" + "\n".join(entries) + "\n}\n")
    # Polling every second: a directory no platform recognises is loaded after 3 s unchanged.
    flags = ("--file_system_poll_wait_seconds=1", f"--max_num_load_retries={MAX_NUM_LOAD_RETRIES}",
             "--load_retry_interval_micros=1000")
    server = DuoserveProcess.start(config=config, flags=flags, log_name="bad_version.log")
    try:
        server.wait_until_available(120)
        yield server, root / "models"
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def add_old_export(base_path: Path, version: int) -> Path:
    """Writes the export elsewhere, then moves it into place at once (an upload by `mv`)."""
    staging = base_path.parent / f".staging-{base_path.name}-{version}"
    staging.mkdir()
    for name in OLD_EXPORT_FILES:
        (staging / name).write_text(f"not a model: {name}")
    return Path(shutil.move(str(staging), str(base_path / str(version))))


def status_of(model_stub, model):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model
    return {s.version: s for s in model_stub.GetModelStatus(request, timeout=10).model_version_status}


@pytest.mark.parametrize("model", list(PLATFORMS))
def test_a_version_without_a_model_shows_its_error_and_the_old_one_serves(bad_version_server, model):
    server, models = bad_version_server
    version_dir = add_old_export(models / model, 2)
    with grpc.insecure_channel(server.grpc_target) as channel:
        model_stub = model_service_pb2_grpc.ModelServiceStub(channel)
        deadline = time.monotonic() + 30
        while (statuses := status_of(model_stub, model)).get(2, State()).state != State.END:
            assert time.monotonic() < deadline, f"version 2 never ended: {statuses}\n{server.log_tail()}"
            time.sleep(0.2)

        bad, serving = statuses[2], statuses[1]
        expected = MISSING_MODEL[model].format(dir=version_dir)
        assert bad.status.error_code == NOT_FOUND
        assert expected in bad.status.error_message
        assert (serving.state, serving.status.error_code, serving.status.error_message) == (State.AVAILABLE, 0, "")

        predicted = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
            predict_request(model, {"x": float_val_tensor([1.0, 2.0, 5.0], [3])}), timeout=30)
        assert predicted.model_spec.version.value == 1
        assert list(predicted.outputs["y"].float_val) == [2.5, 3.0, 4.5]

    reply = requests.get(f"{server.rest_url}/v1/models/{model}", timeout=10)
    assert reply.status_code == 200, reply.text
    by_version = {status["version"]: status for status in reply.json()["model_version_status"]}
    assert by_version["2"]["state"] == "END"
    assert by_version["2"]["status"]["error_code"] == "NOT_FOUND"
    assert expected in by_version["2"]["status"]["error_message"]
    assert by_version["1"] == {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}

    attempts = [line for line in server.log_tail(200_000).splitlines()
                if f"{{name: {model} version: 2}} failed (attempt " in line]
    total = MAX_NUM_LOAD_RETRIES + 1
    assert [f"attempt {n} of {total}" in line for n, line in enumerate(attempts, 1)] == [True] * MAX_NUM_LOAD_RETRIES
