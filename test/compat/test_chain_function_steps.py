"""The example chain features_topk through the stock clients: raw features in, the k best item ids
out, with the glue (standardizing before the TensorFlow model, top-k after the PyTorch one) run
inside the server in JavaScript function steps. It answers as any model does, with what the
Python reference computes, and what a client doing the glue itself gets."""
import json

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, model_pb2

from duoserve_process import REPO
from serving_client import expect_rpc_error, predict_request

CHAIN = "features_topk"
TIMING = (("x-duoserve-chain-timing", "1"),)


@pytest.fixture(autouse=True)
def chain_is_served(server, reference):
    if CHAIN not in server.models or CHAIN not in reference:
        pytest.fail(f"{CHAIN} is not in var/models/models.config and reference.json: run scripts/export_models.py",
                    pytrace=False)


def array(tensor):
    dtype = {"DT_FLOAT": np.float32, "DT_INT64": np.int64, "DT_INT32": np.int32}[tensor["dtype"]]
    return np.array(tensor["values"], dtype).reshape(tensor["shape"])


def cases(reference):
    """(inputs, outputs) numpy dicts per case of reference.json for the chain."""
    found = [({alias: array(t) for alias, t in case["inputs"].items()},
              {alias: array(t) for alias, t in case["outputs"].items()}) for case in reference[CHAIN]["cases"]]
    assert found, f"reference.json has no cases for {CHAIN}"
    return found


def request_of(inputs):
    return predict_request(CHAIN, {alias: tf.make_tensor_proto(value) for alias, value in inputs.items()})


def test_predict_matches_the_steps_run_in_python(prediction_stub, reference):
    for inputs, outputs in cases(reference):
        response = prediction_stub.Predict(request_of(inputs), timeout=30)
        assert sorted(response.outputs) == ["item_ids", "scores"]
        assert response.outputs["item_ids"].dtype == types_pb2.DT_INT64
        np.testing.assert_array_equal(tf.make_ndarray(response.outputs["item_ids"]), outputs["item_ids"])
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["scores"]), outputs["scores"], rtol=1e-5)
        assert len(outputs["item_ids"]) == int(inputs["k"])


def test_equals_the_client_doing_the_glue_around_the_model_chain(prediction_stub, reference):
    inputs, _ = cases(reference)[-1]
    stats = feature_stats()
    x = ((inputs["raw"] - stats[0]) / stats[1]).astype(np.float32)
    scored = prediction_stub.Predict(predict_request("features_to_ranker", {"x": tf.make_tensor_proto(x)}), timeout=30)
    score = tf.make_ndarray(scored.outputs["score"])
    best = np.argsort(-score, kind="stable")[: int(inputs["k"])]
    chained = prediction_stub.Predict(request_of(inputs), timeout=30)
    np.testing.assert_array_equal(tf.make_ndarray(chained.outputs["item_ids"]), inputs["item_ids"][best])
    np.testing.assert_array_equal(tf.make_ndarray(chained.outputs["scores"]), score[best])


def feature_stats():
    """The raw features' mean and std, as the version directory ships them to steps.js."""
    stats = json.loads((REPO / "var" / "models" / "examples" / CHAIN / "1" / "feature_stats.json").read_text())
    return np.array(stats["mean"], np.float32), np.array(stats["std"], np.float32)


def test_rest_columnar_json_and_step_timings(rest_url, reference):
    inputs, outputs = cases(reference)[0]
    body = {"inputs": {"raw": inputs["raw"].tolist(), "item_ids": inputs["item_ids"].tolist(), "k": int(inputs["k"])}}
    reply = requests.post(f"{rest_url}/v1/models/{CHAIN}:predict", json=body, headers=dict(TIMING), timeout=30)
    assert reply.status_code == 200, reply.text
    answer = reply.json()["outputs"]
    assert answer["item_ids"] == outputs["item_ids"].tolist()
    np.testing.assert_allclose(np.array(answer["scores"], np.float32), outputs["scores"], rtol=1e-5)
    for step in ("normalize", "featurize", "rank", "top_k"):
        assert reply.headers[f"x-duoserve-step-{step}-us"].isdigit()


def test_a_throwing_function_step_is_named(prediction_stub, reference):
    inputs, _ = cases(reference)[0]
    inputs = {**inputs, "item_ids": inputs["item_ids"][:-1]}
    error = expect_rpc_error(prediction_stub.Predict, request_of(inputs), grpc.StatusCode.INVALID_ARGUMENT)
    rows = len(inputs["raw"])
    assert error.details() == (f"step 'top_k' (function topK in steps.js): threw: item_ids has {rows - 1} items "
                               f"but x has {rows} rows")


def test_metadata_has_the_declared_inputs_and_outputs(prediction_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest(model_spec=model_pb2.ModelSpec(name=CHAIN),
                                                             metadata_field=["signature_def"])
    response = prediction_stub.GetModelMetadata(request, timeout=30)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    signature = signatures.signature_def["serving_default"]
    shapes = {alias: (info.dtype, [d.size for d in info.tensor_shape.dim]) for alias, info in signature.inputs.items()}
    assert shapes == {"raw": (types_pb2.DT_FLOAT, [-1, 32]), "item_ids": (types_pb2.DT_INT64, [-1]),
                      "k": (types_pb2.DT_INT32, [])}
    assert signature.outputs["item_ids"].name == "top_k:item_ids"
    assert signature.outputs["item_ids"].dtype == types_pb2.DT_INT64
