"""gRPC deadlines, as a C++ gRPC server honours them: a Predict whose deadline passes while its
run waits for a free inference thread is answered DEADLINE_EXCEEDED and never runs.

The server gets one inference thread (--grpc_max_threads=1), so runs queue behind each other.
A slow run holds that thread while several slow requests with a shorter timeout queue behind
it, then a small request without one. If the expired runs still ran, the small request
would wait for all of them; it must answer about as soon as the slow run is done.

The bound on queued work (--duoserve_max_queued_requests_per_model) is exactly the calls the test
has in flight at once: every expired call must give its place back, or calls after it are shed.
"""
import time
from pathlib import Path

import grpc
import pytest
from tensorflow_serving.apis import prediction_service_pb2_grpc

from duoserve_process import serving
from serving_client import float_val_tensor, predict_request

MLP = Path(__file__).resolve().parents[2] / "var" / "models" / "examples" / "mlp_torch"
EXPIRING = 3
IN_FLIGHT = 1 + EXPIRING + 1  # the slow run, the expiring ones, the small one
# The slow answer is written as tensor_content, which is quick to send and read: the time the
# client sees it is close to the time its run ended.
TENSOR_CONTENT = (("x-duoserve-output-encoding", "tensor_content"),)


@pytest.fixture(scope="module")
def stub():
    with serving([("mlp_torch", MLP, "pytorch")], log_name="deadlines.log", flags=("--grpc_max_threads=1", f"--duoserve_max_queued_requests_per_model={IN_FLIGHT}")) as server:
        channel = grpc.insecure_channel(server.grpc_target, options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
        channel.close()


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


def test_expired_calls_give_their_places_back(stub):
    """After the expired calls, as many calls as the bound at once are all served."""
    calls = [stub.Predict.future(mlp_request(1), timeout=30) for _ in range(IN_FLIGHT)]
    assert [call.result().outputs["y"].tensor_shape.dim[0].size for call in calls] == [1] * IN_FLIGHT
