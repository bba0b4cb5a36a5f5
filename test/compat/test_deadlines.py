"""gRPC deadlines and cancellation, as a C++ gRPC server honours them: a Predict whose deadline
passes, or whose client cancels it, while its run waits for a free inference thread never runs;
nor does a REST Predict whose client closes its connection then.

The server gets one inference thread (--grpc_max_threads=1), so runs queue behind each other.
A slow run holds that thread while several slow requests queue behind it, each with a shorter
timeout or cancelled by its client, then a small request. If those runs still ran, the small
request would wait for all of them; it must answer about as soon as the slow run is done. The
Prometheus page says the same: runtime_latency counts only the runs that ran.

The bound on queued work (--duoserve_max_queued_requests_per_model) is exactly the calls the test
has in flight at once: every expired or cancelled call must give its place back, or calls after
it are shed.
"""
import json
import re
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import numpy as np
import pytest
import requests
from tensorflow_serving.apis import prediction_service_pb2_grpc

from duoserve_process import serving
from serving_client import float_val_tensor, predict_request

MLP = Path(__file__).resolve().parents[2] / "var" / "models" / "examples" / "mlp_torch"
EXPIRING = 3
IN_FLIGHT = 1 + EXPIRING + 1  # the slow run, the expiring (or cancelled) ones, the small one
# The slow answer is written as tensor_content, which is quick to send and read: the time the
# client sees it is close to the time its run ended.
TENSOR_CONTENT = (("x-duoserve-output-encoding", "tensor_content"),)


@pytest.fixture(scope="module")
def server():
    monitoring = Path(tempfile.mkdtemp(prefix="duoserve-deadlines-")) / "monitoring.config"
    monitoring.write_text("prometheus_config { enable: true }\n")
    flags = ("--grpc_max_threads=1", f"--duoserve_max_queued_requests_per_model={IN_FLIGHT}",
             f"--monitoring_config_file={monitoring}")
    with serving([("mlp_torch", MLP, "pytorch")], log_name="deadlines.log", flags=flags) as running:
        yield running


@pytest.fixture(scope="module")
def stub(server):
    channel = grpc.insecure_channel(server.grpc_target, options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def metric_total(server, name: str, **labels: str) -> float:
    """The sum of the series `name` on the Prometheus page whose labels include `labels`."""
    page = requests.get(server.rest_url + "/monitoring/prometheus/metrics", timeout=30).text
    total = 0.0
    for match in re.finditer(rf"^{re.escape(name)}{{(.*)}} (\S+)$", page, re.M):
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1)))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(match.group(2))
    return total


def runs_ran(server) -> float:
    return metric_total(server, ":tensorflow:serving:runtime_latency_count", model_name="mlp_torch")


def mlp_request(rows: int):
    """A few bytes on the wire (one float_val value fills the tensor), so each request arrives at
    once however large its run."""
    return predict_request("mlp_torch", {"x": float_val_tensor([0.5], [rows, 512])})


def slow_rows(stub) -> tuple[int, float]:
    """Rows of a request whose run takes at least 0.3 s here, and how long it took."""
    stub.Predict(mlp_request(1024), timeout=120)  # the first run is slower than the rest
    rows = 1024
    while True:
        request = mlp_request(rows)
        started = time.monotonic()
        stub.Predict(request, timeout=120)
        seconds = time.monotonic() - started
        if seconds >= 0.3 or rows >= 65536:
            return rows, seconds
        rows *= 2


def test_a_run_whose_deadline_passes_in_the_queue_never_starts(stub):
    rows, seconds = slow_rows(stub)
    small = mlp_request(1)
    holding = stub.Predict.future(mlp_request(4 * rows), timeout=120, metadata=TENSOR_CONTENT)
    time.sleep(seconds)  # the slow run has the thread for about 3 * seconds more
    expiring = [stub.Predict.future(mlp_request(rows), timeout=seconds) for _ in range(EXPIRING)]
    time.sleep(0.1)  # they are queued
    waiting = stub.Predict.future(small, timeout=120)
    holding.result()
    held_until = time.monotonic()
    waiting.result()
    waited = time.monotonic() - held_until
    for call in expiring:
        with pytest.raises(grpc.RpcError) as raised:
            call.result()
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # Had the expired runs run, the small one would have waited EXPIRING * seconds more.
    assert waited < seconds, f"the small request waited {waited:.2f}s after the slow run ({seconds:.2f}s a run)"
    assert stub.Predict(small, timeout=30).outputs["y"].tensor_shape.dim[0].size == 1


def test_a_run_whose_call_is_cancelled_in_the_queue_never_starts(server, stub):
    rows, seconds = slow_rows(stub)
    small = mlp_request(1)
    ran_before = runs_ran(server)
    cancelled_before = metric_total(server, ":tensorflow:serving:request_count", model_name="mlp_torch", status="CANCELLED")
    holding = stub.Predict.future(mlp_request(4 * rows), timeout=120, metadata=TENSOR_CONTENT)
    time.sleep(seconds)  # the slow run has the thread for about 3 * seconds more
    cancelled = [stub.Predict.future(mlp_request(rows), timeout=120) for _ in range(EXPIRING)]
    time.sleep(0.1)  # they are queued
    for call in cancelled:
        assert call.cancel()
    waiting = stub.Predict.future(small, timeout=120)
    holding.result()
    held_until = time.monotonic()
    waiting.result()
    waited = time.monotonic() - held_until
    # Had the cancelled runs run, the small one would have waited EXPIRING * seconds more.
    assert waited < seconds, f"the small request waited {waited:.2f}s after the slow run ({seconds:.2f}s a run)"
    assert runs_ran(server) - ran_before == 2  # the slow run and the small one
    cancelled_count = metric_total(server, ":tensorflow:serving:request_count", model_name="mlp_torch", status="CANCELLED")
    assert cancelled_count - cancelled_before == EXPIRING


def test_a_rest_predict_whose_client_hangs_up_while_its_run_is_queued_never_runs(server, stub):
    rows, seconds = slow_rows(stub)
    ran_before = runs_ran(server)
    body = json.dumps({"instances": np.full((rows, 512), 0.5, dtype=np.float32).tolist()}).encode()
    host, port = urlsplit(server.rest_url).hostname, urlsplit(server.rest_url).port
    request = (f"POST /v1/models/mlp_torch:predict HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    holding = stub.Predict.future(mlp_request(4 * rows), timeout=120, metadata=TENSOR_CONTENT)
    time.sleep(seconds)  # the slow run has the thread for about 3 * seconds more
    connections = [socket.create_connection((host, port), timeout=30) for _ in range(EXPIRING)]
    for connection in connections:
        connection.sendall(request)
    time.sleep(0.3)  # their bodies are read and their runs queued
    for connection in connections:
        connection.close()
    holding.result()
    assert stub.Predict(mlp_request(1), timeout=120).outputs["y"].tensor_shape.dim[0].size == 1
    # Their bodies may still be read after the small request ran: give their runs the time they would take.
    time.sleep(EXPIRING * seconds + 1)
    assert runs_ran(server) - ran_before == 2  # the slow run and the small one


def test_expired_and_cancelled_calls_give_their_places_back(stub):
    """After the expired and cancelled calls, as many calls as the bound at once are all served."""
    calls = [stub.Predict.future(mlp_request(1), timeout=30) for _ in range(IN_FLIGHT)]
    assert [call.result().outputs["y"].tensor_shape.dim[0].size for call in calls] == [1] * IN_FLIGHT
