"""The Open Inference Protocol's REST API (KServe v2) of bin/duoserve, beside TF-Serving's, through
the stock clients of the two client families: tritonclient.http (JSON and the binary tensor
extension, both ways) and the kserve SDK's InferenceRESTClient (protocol v2). Health, readiness,
metadata, infer on a TensorFlow model, a PyTorch model and a chain, versions and a version label,
every datatype of the all_dtypes fixtures, and errors with their statuses, after which the server
keeps serving."""
import asyncio
import shutil
import tempfile
from pathlib import Path

import httpx
import ml_dtypes
import numpy as np
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from tritonclient.utils import InferenceServerException

from duoserve_process import REPO, serving

EXAMPLES = REPO / "var" / "models" / "examples"
FIXTURES = REPO / "var" / "models" / "test"
X = np.array([1.0, 2.0, 5.0], np.float32)
Y = np.array([2.5, 3.0, 4.5], np.float32)
CHAIN = "features_to_ranker"


def host_port(url: str) -> str:
    return url.removeprefix("http://")


@pytest.fixture(scope="module")
def client(server):
    with triton.InferenceServerClient(host_port(server.rest_url)) as client:
        yield client


@pytest.fixture(scope="module")
def own_server():
    """Two versions of half_plus_two (label stable = 1) and the all_dtypes fixtures."""
    for fixture in ("tensorflow", "pytorch"):
        if not (FIXTURES / fixture / "all_dtypes" / "1").exists():
            pytest.fail(f"var/models/test/{fixture}/all_dtypes is missing; scripts/export_models.py writes it",
                        pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="duoserve-v2-rest-"))
    for version in (1, 2):
        shutil.copytree(EXAMPLES / "half_plus_two" / "1", root / "versions" / str(version))
    entries = [
        ("versions", root / "versions", "tensorflow",
         'model_version_policy { all {} } version_labels { key: "stable" value: 1 }'),
        ("tf_dtypes", FIXTURES / "tensorflow" / "all_dtypes", "tensorflow"),
        ("torch_dtypes", FIXTURES / "pytorch" / "all_dtypes", "pytorch"),
    ]
    try:
        with serving(entries, log_name="v2_rest.log",
                     flags=("--allow_version_labels_for_unavailable_models",)) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_client(own_server):
    with triton.InferenceServerClient(host_port(own_server.rest_url)) as client:
        yield client


def x_input(binary: bool, values=X, datatype="FP32"):
    infer_input = triton.InferInput("x", list(values.shape), datatype)
    return infer_input.set_data_from_numpy(values, binary_data=binary)


def assert_keeps_serving(client):
    result = client.infer("half_plus_two", [x_input(False)])
    np.testing.assert_array_equal(result.as_numpy("y"), Y)


def refused(call) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as caught:
        call()
    return caught.value


# tritonclient.http

def test_health_and_model_readiness(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("half_plus_two")
    assert client.is_model_ready("half_plus_two", "1")
    assert not client.is_model_ready("half_plus_two", "9")
    assert not client.is_model_ready("no_such_model")


def test_server_and_model_metadata(client):
    server = client.get_server_metadata()
    assert server["name"] == "duoserve"
    assert "binary_tensor_data" in server["extensions"]
    assert client.get_model_metadata("half_plus_two") == {
        "name": "half_plus_two", "versions": ["1"], "platform": "tensorflow",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}],
    }
    assert client.get_model_metadata("half_plus_two_torch", "1")["platform"] == "pytorch"
    chain = client.get_model_metadata(CHAIN)
    assert chain["platform"] == "chain"
    assert chain["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 32]}]
    error = refused(lambda: client.get_model_metadata("no_such_model"))
    assert error.status() == "404"


@pytest.mark.parametrize("model", ["half_plus_two", "half_plus_two_torch"])
@pytest.mark.parametrize("binary_in", [False, True])
@pytest.mark.parametrize("binary_out", [False, True])
def test_infer_tensorflow_and_pytorch(client, model, binary_in, binary_out):
    result = client.infer(model, [x_input(binary_in)], request_id="req-7",
                          outputs=[triton.InferRequestedOutput("y", binary_data=binary_out)])
    np.testing.assert_array_equal(result.as_numpy("y"), Y)
    response = result.get_response()
    assert response["model_name"] == model
    assert response["model_version"] == "1"
    assert response["id"] == "req-7"
    assert ("binary_data_size" in response["outputs"][0].get("parameters", {})) == binary_out


def test_infer_with_compressed_request_bodies(client):
    for algorithm in ("gzip", "deflate"):
        result = client.infer("half_plus_two", [x_input(True)], request_compression_algorithm=algorithm)
        np.testing.assert_array_equal(result.as_numpy("y"), Y)


def test_infer_a_chain_as_any_model(client, reference):
    for case in reference[CHAIN]["cases"]:
        x, score = case["inputs"]["x"], case["outputs"]["score"]
        values = np.array(x["values"], np.float32).reshape(x["shape"])
        for binary in (False, True):
            result = client.infer(CHAIN, [x_input(binary, values)])
            np.testing.assert_allclose(result.as_numpy("score"),
                                       np.array(score["values"], np.float32).reshape(score["shape"]), rtol=1e-5)


def test_versions_and_version_label(own_client):
    assert own_client.get_model_metadata("versions")["versions"] == ["1", "2"]
    latest = own_client.infer("versions", [x_input(False)])
    assert latest.get_response()["model_version"] == "2"
    first = own_client.infer("versions", [x_input(True)], model_version="1")
    assert first.get_response()["model_version"] == "1"
    labelled = own_client.infer("versions", [x_input(False)], parameters={"version_label": "stable"})
    assert labelled.get_response()["model_version"] == "1"
    np.testing.assert_array_equal(labelled.as_numpy("y"), Y)
    # TF-Serving's status and words for a label it does not know.
    error = refused(lambda: own_client.infer("versions", [x_input(False)], parameters={"version_label": "nope"}))
    assert (error.status(), error.message()) == ("400", "Unrecognized servable version label: nope")
    error = refused(lambda: own_client.infer("versions", [x_input(False)], model_version="7"))
    assert error.status() == "404", error.message()


def test_errors_have_their_status_and_the_server_keeps_serving(client):
    wrong_shape = x_input(True)
    wrong_shape.set_shape([4])  # 12 bytes of binary data for 4 floats
    cases = [
        ("unknown model", lambda: client.infer("no_such_model", [x_input(False)]), "404", "no_such_model"),
        ("wrong datatype", lambda: client.infer("half_plus_two", [x_input(False, X.astype(np.int32), "INT32")]),
         "400", "int32"),
        ("wrong shape / binary size", lambda: client.infer("half_plus_two", [wrong_shape]), "400", "[4]"),
        ("missing input", lambda: client.infer("half_plus_two", []), "400", "Missing but required: {x}"),
        ("unknown output", lambda: client.infer("half_plus_two", [x_input(False)],
                                                outputs=[triton.InferRequestedOutput("nope")]), "400", "nope"),
    ]
    for what, call, status, words in cases:
        error = refused(call)
        assert error.status() == status, f"{what}: {error.status()} {error.message()}"
        assert words in error.message(), f"{what}: {error.message()}"
        assert_keeps_serving(client)


# Every datatype, through the all_dtypes identities.

def dtype_values():
    """Each v2 datatype's extremes and an ordinary value, as the fixture script picks them."""
    values = {"bool": np.array([True, False, True])}
    for name in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"):
        info = np.iinfo(name)
        values[name] = np.array([info.min, 7, info.max], name)
    for name, dtype in (("fp16", np.float16), ("bf16", ml_dtypes.bfloat16), ("fp32", np.float32),
                        ("fp64", np.float64)):
        values[name] = np.array([-1.5, 0.25, 1000.0], dtype)
    values["bytes"] = np.array([b"duo", b"", "s\xe9rve".encode()], np.object_)
    return values


@pytest.mark.parametrize("model", ["tf_dtypes", "torch_dtypes"])
@pytest.mark.parametrize("binary", [False, True])
def test_every_datatype_round_trips(own_client, model, binary):
    values = dtype_values()
    if model == "torch_dtypes":
        del values["bytes"]  # PyTorch has no string tensor
    inputs, outputs = [], []
    for name, array in values.items():
        datatype = "BYTES" if name == "bytes" else triton.np_to_triton_dtype(array.dtype)
        # tritonclient sends BF16 only as binary data; its JSON output is read as numbers all the same.
        infer_input = triton.InferInput(name, [3], datatype)
        inputs.append(infer_input.set_data_from_numpy(array, binary_data=binary or name == "bf16"))
        outputs.append(triton.InferRequestedOutput(f"{name}_out", binary_data=binary))
    result = own_client.infer(model, inputs, outputs=outputs)
    metadata = {output["name"]: output["datatype"] for output in result.get_response()["outputs"]}
    for name, array in values.items():
        got = result.as_numpy(f"{name}_out")
        assert metadata[f"{name}_out"] == ("BYTES" if name == "bytes" else triton.np_to_triton_dtype(array.dtype))
        if name == "bytes" and not binary:
            got = np.array([element.encode() for element in got], np.object_)  # JSON carries UTF-8 text
        assert got.dtype == array.dtype, name
        np.testing.assert_array_equal(got, array, err_msg=name)


# The kserve SDK's REST client

def kserve_call(method, *args, **kwargs):
    async def run():
        async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0)) as client:
            return await getattr(client, method)(*args, **kwargs)
    return asyncio.run(run())


def test_kserve_health_and_readiness(server):
    assert kserve_call("is_server_live", server.rest_url) is True
    assert kserve_call("is_server_ready", server.rest_url) is True
    assert kserve_call("is_model_ready", server.rest_url, "half_plus_two_torch") is True
    assert kserve_call("is_model_ready", server.rest_url, "no_such_model") is False


@pytest.mark.parametrize("model", ["half_plus_two", "half_plus_two_torch", CHAIN])
@pytest.mark.parametrize("binary", [False, True])
def test_kserve_infer(server, reference, model, binary):
    if model == CHAIN:
        case = reference[CHAIN]["cases"][0]
        x = np.array(case["inputs"]["x"]["values"], np.float32).reshape(case["inputs"]["x"]["shape"])
        want = np.array(case["outputs"]["score"]["values"], np.float32).reshape(case["outputs"]["score"]["shape"])
        output = "score"
    else:
        x, want, output = X, Y, "y"
    infer_input = InferInput("x", list(x.shape), "FP32")
    infer_input.set_data_from_numpy(x, binary_data=binary)
    request = InferRequest(model, [infer_input], request_id="k-1",
                           request_outputs=[RequestedOutput(output, {"binary_data": binary})])
    response = kserve_call("infer", server.rest_url, request, model_name=model)
    assert response.model_name == model
    assert response.id == "k-1"
    np.testing.assert_allclose(response.outputs[0].as_numpy(), want, rtol=1e-5)


def test_kserve_errors(server):
    infer_input = InferInput("x", [3], "FP32", data=X.tolist())
    for model, status in (("no_such_model", 404), ("half_plus_two", 400)):
        request = InferRequest(model, [infer_input] if model != "half_plus_two" else [], request_id="e")
        with pytest.raises(httpx.HTTPStatusError) as caught:
            kserve_call("infer", server.rest_url, request, model_name=model)
        assert caught.value.response.status_code == status
    response = kserve_call("infer", server.rest_url, InferRequest("half_plus_two", [infer_input]),
                           model_name="half_plus_two")
    np.testing.assert_array_equal(response.outputs[0].as_numpy(), Y)
