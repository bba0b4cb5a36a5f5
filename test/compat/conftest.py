"""One bin/duoserve for the whole session, serving var/models/models.config (the examples that
scripts/export_models.py writes) on free TCP ports and on a unix socket."""
import json
import shutil
import tempfile
from pathlib import Path

import grpc
import pytest
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from duoserve_process import REPO, DuoserveProcess

READY_TIMEOUT_S = 120
REFERENCE = REPO / "var" / "models" / "examples" / "reference.json"


@pytest.fixture(scope="session")
def server():
    socket_dir = Path(tempfile.mkdtemp(prefix="duoserve-compat-"))  # short: unix paths max ~107 bytes
    duoserve = None
    try:
        duoserve = DuoserveProcess.start(socket_dir / "grpc.sock")
        duoserve.wait_until_available(READY_TIMEOUT_S)
    except RuntimeError as error:
        if duoserve:
            duoserve.stop()
        shutil.rmtree(socket_dir, ignore_errors=True)
        pytest.fail(str(error), pytrace=False)
    yield duoserve
    duoserve.stop()
    shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def grpc_channel(server):
    channel = grpc.insecure_channel(server.grpc_target)
    yield channel
    channel.close()


@pytest.fixture(scope="session")
def prediction_stub(grpc_channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)


@pytest.fixture(scope="session")
def model_stub(grpc_channel):
    return model_service_pb2_grpc.ModelServiceStub(grpc_channel)


@pytest.fixture(scope="session")
def rest_url(server):
    return server.rest_url


@pytest.fixture(scope="session")
def reference():
    """{model: {"platform", "cases": [{"inputs": {alias: tensor}, "outputs": {alias: tensor}}]}},
    tensor = {"dtype", "shape", "values" (row-major)}: what the frameworks computed in Python."""
    if not REFERENCE.exists():
        pytest.fail(f"{REFERENCE} is missing; scripts/setup.sh writes it", pytrace=False)
    return json.loads(REFERENCE.read_text())
