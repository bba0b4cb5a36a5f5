"""--duoserve_max_queued_requests_per_model seen with the stock client and plain HTTP: a flood of
concurrent calls to one model over a low bound gets UNAVAILABLE (HTTP 503) for the excess, at
once; another model is served meanwhile; once the flood has passed every call is served again.
The same with --enable_batching, where a request counts once before it joins its batch queue.

The flooded model is the example MLP (PyTorch) over enough rows for a run of 0.3 s or more, each
request a few bytes (one float_val value fills the tensor), so the whole flood arrives while the
admitted runs are still going.
"""
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import requests
from tensorflow_serving.apis import prediction_service_pb2_grpc

from duoserve_process import REPO, serving
from serving_client import assert_grpc_serving, float_val_tensor, predict_request

EXAMPLES = REPO / "var" / "models" / "examples"
BOUND = 3
FLOOD = 24
PROMETHEUS = "/monitoring/prometheus/metrics"
FULL = "The request queue of model mlp_torch is full: 3 requests are already waiting or running " \
       "(--duoserve_max_queued_requests_per_model); retry later"
UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
TENSOR_CONTENT = (("x-duoserve-output-encoding", "tensor_content"),)


@pytest.fixture(scope="module", params=["unbatched", "batched"])
def server(request):
    scratch = Path(tempfile.mkdtemp(prefix="duoserve-overload-"))
    monitoring = scratch / "monitoring.config"
    monitoring.write_text("prometheus_config { enable: true }\n")
    flags = [f"--duoserve_max_queued_requests_per_model={BOUND}", f"--monitoring_config_file={monitoring}"]
    if request.param == "batched":
        # Batches as large as a flood's requests, so that batching's own bound never answers first.
        batching = scratch / "batching.config"
        batching.write_text("max_batch_size { value: 1000000 } max_enqueued_batches { value: 1000 }\n")
        flags += ["--enable_batching", f"--batching_parameters_file={batching}"]
    entries = [("mlp_torch", EXAMPLES / "mlp_torch", "pytorch"),
               ("half_plus_two", EXAMPLES / "half_plus_two", "tensorflow"),
               ("half_plus_two_torch", EXAMPLES / "half_plus_two_torch", "pytorch")]
    with serving(entries, log_name=f"overload_{request.param}.log", flags=tuple(flags)) as running:
        yield running


@pytest.fixture(scope="module")
def stub(server):
    channel = grpc.insecure_channel(server.grpc_target, options=UNLIMITED)
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def mlp_request(rows: int):
    return predict_request("mlp_torch", {"x": float_val_tensor([0.5], [rows, 512])})


@pytest.fixture(scope="module")
def slow_rows(stub) -> int:
    """Rows of a request whose run takes at least 0.3 s here."""
    stub.Predict(mlp_request(1024), timeout=120, metadata=TENSOR_CONTENT)
    rows = 1024
    while True:
        started = time.monotonic()
        stub.Predict(mlp_request(rows), timeout=120, metadata=TENSOR_CONTENT)
        if time.monotonic() - started >= 0.3 or rows >= 65536:
            return rows
        rows *= 2


def outcome(future) -> grpc.StatusCode:
    try:
        future.result()
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        assert error.code() != grpc.StatusCode.UNAVAILABLE or error.details() == FULL, error.details()
        return error.code()


def shed_total(server) -> float:
    page = requests.get(server.rest_url + PROMETHEUS, timeout=30).text
    match = re.search(r'^duoserve_model_requests_shed_total\{model_name="mlp_torch"\} (\S+)$', page, re.M)
    return float(match.group(1)) if match else 0.0


def test_a_flood_over_the_bound_is_shed_and_service_returns(server, stub, slow_rows):
    shed_before = shed_total(server)
    flood = [stub.Predict.future(mlp_request(slow_rows), timeout=120, metadata=TENSOR_CONTENT)
             for _ in range(FLOOD)]
    # While the model is full: REST is refused too, other models are served.
    rest = requests.post(f"{server.rest_url}/v1/models/mlp_torch:predict",
                         json={"instances": [[0.5] * 512]}, timeout=30)
    assert rest.status_code == 503, rest.text
    assert rest.json() == {"error": FULL}
    assert_grpc_serving(stub)
    codes = [outcome(call) for call in flood]
    served = codes.count(grpc.StatusCode.OK)
    shed = codes.count(grpc.StatusCode.UNAVAILABLE)
    assert served + shed == FLOOD, codes
    # The flood arrives while the first BOUND run; a slow machine may let a few more in.
    assert BOUND <= served <= 2 * BOUND, codes
    assert shed_total(server) - shed_before == shed + 1
    # Full service right after: BOUND calls at once, all served; the places all came back.
    with ThreadPoolExecutor(BOUND) as pool:
        again = list(pool.map(lambda _: stub.Predict(mlp_request(1), timeout=30), range(BOUND)))
    assert all(answer.outputs["y"].tensor_shape.dim[0].size == 1 for answer in again)
    page = requests.get(server.rest_url + PROMETHEUS, timeout=30).text
    assert 'duoserve_model_requests_in_flight{model_name="mlp_torch"} 0' in page


def test_the_bound_is_per_model(server, stub, slow_rows):
    """BOUND calls to each of two models at once are all served: one model's calls take no place of the other's."""
    calls = [stub.Predict.future(mlp_request(slow_rows), timeout=120, metadata=TENSOR_CONTENT)
             for _ in range(BOUND)]
    calls += [stub.Predict.future(predict_request("half_plus_two_torch", {"x": float_val_tensor([1.0], [3])}),
                                  timeout=120) for _ in range(BOUND)]
    assert [outcome(call) for call in calls] == [grpc.StatusCode.OK] * (2 * BOUND)
