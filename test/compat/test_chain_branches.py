"""A chain's branch (a step that runs only `when` a condition holds) and early exit (an `exit`
that ends the chain with the outputs it has), through the stock gRPC client and plain REST: a
step that did not run leaves its chain output out of the response, or answers with its
`fallback`. Both chains run half_plus_two (TensorFlow, y = x/2 + 2) and half_plus_two_torch."""
import shutil
import tempfile
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import prediction_service_pb2_grpc

from duoserve_process import REPO, serving
from serving_client import predict_request

EXAMPLES = REPO / "var" / "models" / "examples"

# "big" runs when some gate:y is above 3; "small" is answered by gate:y when it did not run.
BRANCH = """
input { name: "x" }
step { name: "gate" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
step {
  name: "big" model: "half_plus_two_torch" inputs { key: "x" value: "gate:y" }
  when { source: "gate:y" op: GREATER number: 3 values: ANY }
}
step {
  name: "small" model: "half_plus_two_torch" inputs { key: "x" value: "gate:y" }
  when { source: "gate:y" op: LESS_EQUAL number: 3 values: ALL }
}
output { name: "big" source: "big:y" }
output { name: "small" source: "small:y" fallback: "gate:y" }
"""

# Ends after "first" when some first:y is below 2: "second" and "side" then never start.
EXIT = """
input { name: "x" }
step { name: "first" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
exit { when { source: "first:y" op: LESS number: 2 values: ANY } }
step { name: "second" model: "half_plus_two_torch" inputs { key: "x" value: "first:y" } }
step { name: "side" model: "half_plus_two_torch" inputs { key: "x" value: "request:x" } }
output { name: "y" source: "second:y" fallback: "first:y" }
output { name: "side" source: "side:y" }
"""

# An exit on a request input, decided before any step: when it fires, no output is left.
EARLY = """
input { name: "x" }
exit { when { source: "request:x" op: LESS number: -100 values: ANY } }
step { name: "only" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
output { name: "y" source: "only:y" }
"""


@pytest.fixture(scope="module")
def chain_server():
    root = Path(tempfile.mkdtemp(prefix="duoserve-branches-"))
    for name, text in (("branch", BRANCH), ("exit", EXIT), ("early", EARLY)):
        (root / name / "1").mkdir(parents=True)
        (root / name / "1" / "chain.pbtxt").write_text(text)
    entries = [("half_plus_two", EXAMPLES / "half_plus_two", "tensorflow"),
               ("half_plus_two_torch", EXAMPLES / "half_plus_two_torch", "pytorch"),
               *((name, root / name, "chain") for name in ("branch", "exit", "early"))]
    try:
        with serving(entries, log_name="chain_branches.log") as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def stub(chain_server):
    channel = grpc.insecure_channel(chain_server.grpc_target)
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def predict(stub, chain, x):
    response = stub.Predict(predict_request(chain, {"x": tf.make_tensor_proto(np.array(x, np.float32))}), timeout=30)
    return {name: tf.make_ndarray(tensor).tolist() for name, tensor in response.outputs.items()}


def test_branch_taken_or_not(stub):
    assert predict(stub, "branch", [0.0]) == {"small": [3.0]}  # big did not run: no output
    # Some row above 3: big runs on every row; small did not run, its fallback answers.
    assert predict(stub, "branch", [0.0, 4.0]) == {"big": [3.0, 4.0], "small": [2.0, 4.0]}


def test_early_exit_answers_the_outputs_it_has(stub):
    assert predict(stub, "exit", [1.0]) == {"y": [3.25], "side": [2.5]}
    assert predict(stub, "exit", [-1.0, 1.0]) == {"y": [1.5, 2.5]}  # first:y, the fallback; no side


def test_rest_leaves_out_what_did_not_run(chain_server):
    url = f"{chain_server.rest_url}/v1/models/exit:predict"
    response = requests.post(url, json={"inputs": {"x": [-1.0]}}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"outputs": [1.5]}  # one output left: TF-Serving's columnar form drops its name
    response = requests.post(f"{chain_server.rest_url}/v1/models/branch:predict", json={"instances": [0.0, 4.0]},
                             timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [{"big": 3.0, "small": 2.0}, {"big": 4.0, "small": 4.0}]}


def test_an_exit_before_any_step_answers_no_outputs(stub, chain_server):
    assert predict(stub, "early", [1.0]) == {"y": [2.5]}
    assert predict(stub, "early", [-200.0]) == {}
    # JSON cannot carry an empty output map: REST answers as TF-Serving does for one.
    response = requests.post(f"{chain_server.rest_url}/v1/models/early:predict", json={"instances": [-200.0]},
                             timeout=30)
    assert response.status_code == 400
    assert response.json() == {"error": "Cannot convert empty tensor map to JSON"}
