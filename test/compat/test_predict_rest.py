"""Predict over REST with plain HTTP (requests), in both of TF-Serving's JSON formats."""
import numpy as np
import pytest
import requests

from serving_client import HALF_PLUS_TWO_MODELS, MLP_MODELS, reference_cases as cases, rest_model_url


def predict(rest_url, model, body, **where):
    reply = requests.post(rest_model_url(rest_url, model, **where) + ":predict", json=body, timeout=30)
    assert reply.status_code == 200, reply.text[:500]
    assert reply.headers["content-type"].startswith("application/json")
    return reply.json()


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_instances_row_format(rest_url, reference, model):
    for x, y in cases(reference, model):
        body = predict(rest_url, model, {"instances": x.tolist()})
        assert list(body) == ["predictions"]
        np.testing.assert_allclose(np.array(body["predictions"], np.float32), y, rtol=1e-6)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_instances_named_by_input(rest_url, model):
    # Objects per instance; with a single output, predictions are bare values, not objects.
    body = predict(rest_url, model, {"instances": [{"x": 1.0}, {"x": 2.0}, {"x": 5.0}]})
    assert body == {"predictions": [2.5, 3.0, 4.5]}


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_inputs_columnar_format(rest_url, reference, model):
    for x, y in cases(reference, model):
        for inputs in (x.tolist(), {"x": x.tolist()}):
            body = predict(rest_url, model, {"inputs": inputs})
            assert list(body) == ["outputs"]  # one output: its value, not a map of names
            np.testing.assert_allclose(np.array(body["outputs"], np.float32), y, rtol=1e-6)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_version_and_signature_name(rest_url, model):
    body = predict(rest_url, model, {"signature_name": "serving_default", "instances": [4.0]}, version=1)
    assert body == {"predictions": [4.0]}


@pytest.mark.parametrize("model", MLP_MODELS)
def test_mlp_rows(rest_url, reference, model):
    for x, y in cases(reference, model):
        body = predict(rest_url, model, {"instances": x.tolist()})
        np.testing.assert_allclose(np.array(body["predictions"], np.float32), y, rtol=1e-5, atol=1e-5)


def test_mlp_same_answer_in_both_frameworks(rest_url):
    x = np.random.default_rng(11).standard_normal((2, 512)).astype(np.float32).tolist()
    tf_y, torch_y = (np.array(predict(rest_url, m, {"inputs": {"x": x}})["outputs"]) for m in MLP_MODELS)
    assert tf_y.shape == torch_y.shape == (2, 512)
    np.testing.assert_allclose(tf_y, torch_y, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_any_content_type_is_read_as_json(rest_url, content_type):
    # TF-Serving ignores Content-Type; its documented `curl -d '{...}'` sends a form type.
    headers = {"Content-Type": content_type} if content_type else {}
    reply = requests.post(f"{rest_url}/v1/models/half_plus_two:predict", data=b'{"instances": [1.0, 2.0, 5.0]}',
                          headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text[:500]
    assert reply.json() == {"predictions": [2.5, 3.0, 4.5]}
