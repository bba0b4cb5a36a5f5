"""The Open Inference Protocol's gRPC API (KServe v2, inference.GRPCInferenceService) of
bin/duoserve, on the same port as TF-Serving's, through the stock clients of the two client
families: tritonclient.grpc (raw contents, as it always sends them; ModelStreamInfer) and the
kserve SDK's InferenceGRPCClient (typed contents, and raw ones). Health, readiness, metadata, infer
on a TensorFlow model, a PyTorch model and a chain (over TCP and the unix socket), versions and a
version label, every datatype of the all_dtypes fixtures, and errors with their status codes, after
which the server keeps serving.

tritonclient.grpc runs in a process of its own (tritonclient_grpc.py): it and the kserve SDK cannot
share one Python process (both register package inference's messages in protobuf's default pool).
"""
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from duoserve_process import REPO, serving

EXAMPLES = REPO / "var" / "models" / "examples"
FIXTURES = REPO / "var" / "models" / "test"
TRITON_CLIENT = Path(__file__).with_name("tritonclient_grpc.py")
CHAIN = "features_to_ranker"
X = [1.0, 2.0, 5.0]
Y = [2.5, 3.0, 4.5]

# Each datatype's extremes and an ordinary value, as tritonclient sends them.
DTYPE_VALUES = {
    "BOOL": [True, False, True],
    "UINT8": [0, 7, 255],
    "UINT16": [0, 7, 65535],
    "UINT32": [0, 7, 2**32 - 1],
    "UINT64": [0, 7, 2**64 - 1],
    "INT8": [-128, 7, 127],
    "INT16": [-(2**15), 7, 2**15 - 1],
    "INT32": [-(2**31), 7, 2**31 - 1],
    "INT64": [-(2**63), 7, 2**63 - 1],
    "FP16": [-1.5, 0.25, 65504.0],
    "BF16": [-1.5, 0.25, 1000.0],
    "FP32": [-1.5, 0.25, 3.0e38],
    "FP64": [-1.5, 0.25, 1.0e308],
    "BYTES": ["ZHVv", "", "c+lydmU="],  # base64 of b"duo", b"", "s\xe9rve"
}


def triton(target: str, calls: list[dict]) -> list:
    """The results of `calls` made through tritonclient.grpc (see tritonclient_grpc.py)."""
    run = subprocess.run([sys.executable, str(TRITON_CLIENT), target], input=json.dumps(calls),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def fp32_input(values, name="x", shape=None):
    return {"name": name, "datatype": "FP32", "shape": shape or [len(values)], "values": values}


def infer(model, *inputs, **more):
    return {"call": "infer", "model": model, "inputs": list(inputs), **more}


def status_of(result) -> str:
    assert "error" in result, f"expected an error, got {result}"
    return result["error"]["status"]


def chain_case(reference):
    case = reference[CHAIN]["cases"][0]
    x, score = case["inputs"]["x"], case["outputs"]["score"]
    return x, score


@pytest.fixture(scope="module")
def own_server():
    """Two versions of half_plus_two_torch (label stable = 1) and the all_dtypes fixtures."""
    for framework in ("tensorflow", "pytorch"):
        if not (FIXTURES / framework / "all_dtypes" / "1").exists():
            pytest.fail(f"var/models/test/{framework}/all_dtypes is missing; scripts/export_models.py writes it",
                        pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="duoserve-v2-grpc-"))
    for version in (1, 2):
        shutil.copytree(EXAMPLES / "half_plus_two_torch" / "1", root / "versions" / str(version))
    entries = [
        ("versions", root / "versions", "pytorch",
         'model_version_policy { all {} } version_labels { key: "stable" value: 1 }'),
        ("tf_dtypes", FIXTURES / "tensorflow" / "all_dtypes", "tensorflow"),
        ("torch_dtypes", FIXTURES / "pytorch" / "all_dtypes", "pytorch"),
    ]
    try:
        with serving(entries, log_name="v2_grpc.log",
                     flags=("--allow_version_labels_for_unavailable_models",)) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---- tritonclient.grpc ----

def test_tritonclient_health_and_metadata(server):
    live, ready, metadata, model_ready, unknown_ready, model, chain, unknown = triton(server.grpc_target, [
        {"call": "is_server_live"},
        {"call": "is_server_ready"},
        {"call": "get_server_metadata"},
        {"call": "is_model_ready", "model": "half_plus_two"},
        {"call": "is_model_ready", "model": "no_such_model"},
        {"call": "get_model_metadata", "model": "half_plus_two_torch"},
        {"call": "get_model_metadata", "model": CHAIN},
        {"call": "get_model_metadata", "model": "no_such_model"},
    ])
    assert (live, ready, model_ready, unknown_ready) == (True, True, True, False)
    assert metadata["name"] == "duoserve" and metadata["version"]
    assert metadata.get("extensions", []) == []
    assert model["name"] == "half_plus_two_torch" and model["platform"] == "pytorch"
    assert model["versions"] == ["1"]
    assert [(t["name"], t["datatype"]) for t in model["inputs"]] == [("x", "FP32")]
    assert [(t["name"], t["datatype"]) for t in model["outputs"]] == [("y", "FP32")]
    assert chain["platform"] == "chain"
    assert status_of(unknown) == "StatusCode.NOT_FOUND"


def test_tritonclient_infers_tensorflow_pytorch_and_a_chain(server, reference):
    x, score = chain_case(reference)
    tf_answer, torch_answer, chain_answer = triton(server.grpc_target, [
        infer("half_plus_two", fp32_input(X), id="req-7"),
        infer("half_plus_two_torch", fp32_input(X)),
        infer(CHAIN, fp32_input(x["values"], shape=x["shape"])),
    ])
    for answer, model in ((tf_answer, "half_plus_two"), (torch_answer, "half_plus_two_torch")):
        assert answer["model_name"] == model and answer["model_version"] == "1"
        assert answer["outputs"] == {"y": {"datatype": "FP32", "shape": [3], "values": Y}}
    assert tf_answer["id"] == "req-7"
    output = chain_answer["outputs"]["score"]
    assert output["shape"] == score["shape"]
    np.testing.assert_allclose(output["values"], score["values"], rtol=1e-5)


def test_tritonclient_errors_have_their_status_and_the_server_serves_on(server):
    answers = triton(server.grpc_target, [
        infer("no_such_model", fp32_input(X)),
        infer("half_plus_two", {"name": "x", "datatype": "INT32", "shape": [3], "values": [1, 2, 5]}),
        infer(CHAIN, fp32_input([0.5] * 31, shape=[1, 31])),  # the chain's x is [-1, 32]
        {**infer("half_plus_two", fp32_input(X)), "inputs": []},  # x missing
        infer("half_plus_two", fp32_input(X, name="nope")),
        infer("half_plus_two", fp32_input(X), outputs=["nope"]),
        infer("half_plus_two", fp32_input(X), version="stable"),
        infer("half_plus_two", fp32_input(X)),
    ])
    unknown_model, wrong_datatype, wrong_shape, missing, unknown_input, unknown_output, bad_version, ok = answers
    assert status_of(unknown_model) == "StatusCode.NOT_FOUND"
    assert "no_such_model" in unknown_model["error"]["message"]
    for error in (wrong_datatype, wrong_shape, missing, unknown_input, unknown_output, bad_version):
        assert status_of(error) == "StatusCode.INVALID_ARGUMENT", error
    assert "nope" in unknown_input["error"]["message"] and "nope" in unknown_output["error"]["message"]
    assert ok["outputs"]["y"]["values"] == Y


def test_tritonclient_over_the_unix_socket(server):
    assert server.unix_socket, "the session's server listens on a unix socket too"
    live, answer = triton(f"unix:{server.unix_socket}",
                          [{"call": "is_server_live"}, infer("half_plus_two", fp32_input(X))])
    assert live is True and answer["outputs"]["y"]["values"] == Y


def test_tritonclient_stream_answers_in_order(server, reference):
    x, score = chain_case(reference)
    [answers] = triton(server.grpc_target, [{"call": "stream", "requests": [
        infer(CHAIN, fp32_input(x["values"], shape=x["shape"]), id="first"),
        infer("no_such_model", fp32_input(X), id="second"),
        infer("half_plus_two_torch", fp32_input(X), id="third"),
    ]}])
    first, second, third = answers
    assert first["id"] == "first"
    np.testing.assert_allclose(first["outputs"]["score"]["values"], score["values"], rtol=1e-5)
    assert "no_such_model" in second["error"]["message"]
    assert third["id"] == "third" and third["outputs"]["y"]["values"] == Y


def test_tritonclient_versions_and_a_version_label(own_server):
    answers = triton(own_server.grpc_target, [
        infer("versions", fp32_input(X)),
        infer("versions", fp32_input(X), version="1"),
        infer("versions", fp32_input(X), parameters={"version_label": "stable"}),
        infer("versions", fp32_input(X), version="3"),
        {"call": "is_model_ready", "model": "versions", "version": "2"},
        {"call": "is_model_ready", "model": "versions", "version": "3"},
        {"call": "get_model_metadata", "model": "versions", "version": "1"},
    ])
    latest, first, labelled, missing, ready_2, ready_3, metadata = answers
    assert [a["model_version"] for a in (latest, first, labelled)] == ["2", "1", "1"]
    assert labelled["outputs"]["y"]["values"] == Y
    assert status_of(missing) == "StatusCode.NOT_FOUND"
    assert (ready_2, ready_3) == (True, False)
    assert metadata["versions"] == ["1", "2"]


@pytest.mark.parametrize("model", ["tf_dtypes", "torch_dtypes"])
def test_tritonclient_every_datatype_round_trips(own_server, model):
    [metadata] = triton(own_server.grpc_target, [{"call": "get_model_metadata", "model": model}])
    inputs = [{"name": t["name"], "datatype": t["datatype"], "shape": [3], "values": DTYPE_VALUES[t["datatype"]]}
              for t in metadata["inputs"]]
    served = {t["datatype"] for t in metadata["inputs"]}
    required = set(DTYPE_VALUES) if model == "tf_dtypes" else {
        "BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP16", "BF16", "FP32", "FP64"}
    assert required <= served, f"{model} does not take {sorted(required - served)}"
    [answer] = triton(own_server.grpc_target, [infer(model, *inputs)])
    assert "error" not in answer, answer
    for sent in inputs:
        got = answer["outputs"][f"{sent['name']}_out"]
        assert (got["datatype"], got["shape"]) == (sent["datatype"], [3])
        if sent["datatype"] == "FP16":
            assert got["values"] == [float(np.float16(v)) for v in sent["values"]]
        elif sent["datatype"] in ("FP32", "BF16"):
            np.testing.assert_allclose(got["values"], sent["values"], rtol=1e-2 if sent["datatype"] == "BF16" else 1e-7)
        else:
            assert got["values"] == sent["values"], sent["datatype"]


# ---- the kserve SDK's InferenceGRPCClient ----

def kserve(target: str, work):
    """Runs `work(client)` with an InferenceGRPCClient on `target` (no retries: errors come back as they are)."""
    async def run():
        async with InferenceGRPCClient(target, retries=0) as client:
            return await work(client)
    return asyncio.run(run())


def kserve_request(model, data, *, raw=False, datatype="FP32", shape=None, **more):
    shape = shape or [len(data)]
    if raw:
        infer_input = InferInput("x", shape, datatype)
        infer_input.set_data_from_numpy(np.array(data, np.float32).reshape(shape))
    else:
        infer_input = InferInput("x", shape, datatype, data=list(data))
    return InferRequest(model_name=model, infer_inputs=[infer_input], **more)


def test_kserve_health_and_readiness(server):
    async def work(client):
        return (await client.is_server_live(), await client.is_server_ready(),
                await client.is_model_ready("half_plus_two_torch"), await client.is_model_ready("no_such_model"))
    assert kserve(server.grpc_target, work) == (True, True, True, False)


def test_kserve_infers_typed_and_raw_contents(server, reference):
    x, score = chain_case(reference)

    async def work(client):
        return [await client.infer(request) for request in (
            kserve_request("half_plus_two", X, request_id="typed"),
            kserve_request("half_plus_two_torch", X),
            kserve_request("half_plus_two", X, raw=True),
            kserve_request(CHAIN, x["values"], shape=x["shape"]),
        )]
    typed_tf, typed_torch, raw_tf, chain = kserve(server.grpc_target, work)
    assert typed_tf.id == "typed" and typed_tf.model_name == "half_plus_two"
    for response in (typed_tf, typed_torch, raw_tf):
        [output] = response.outputs
        assert (output.name, output.datatype, output.shape) == ("y", "FP32", [3])
        assert output.as_numpy().tolist() == Y
    np.testing.assert_allclose(chain.outputs[0].as_numpy().reshape(-1), score["values"], rtol=1e-5)


def test_kserve_a_version_label_as_a_parameter(own_server):
    async def work(client):
        return (await client.infer(kserve_request("versions", X, model_version="2")),
                await client.infer(kserve_request("versions", X, parameters={"version_label": "stable"})))
    second, labelled = kserve(own_server.grpc_target, work)
    assert (second.model_version, labelled.model_version) == ("2", "1")


def test_kserve_errors_have_their_status_and_the_server_serves_on(server):
    async def work(client):
        codes = []
        for request in (kserve_request("no_such_model", X),
                        kserve_request("half_plus_two", [1, 2, 5], datatype="INT32"),
                        kserve_request("half_plus_two", X, shape=[4])):
            try:
                await client.infer(request)
                codes.append(None)
            except grpc.aio.AioRpcError as error:
                codes.append(error.code())
        return codes, await client.infer(kserve_request("half_plus_two", X))
    codes, ok = kserve(server.grpc_target, work)
    assert codes == [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INVALID_ARGUMENT]
    assert ok.outputs[0].as_numpy().tolist() == Y
