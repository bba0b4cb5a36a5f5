"""POST :classify and :regress with plain HTTP (requests), checked against what TensorFlow computes
in Python for the same examples written as tf.Examples (TF-Serving's JSON rules: a JSON float
is a float_list feature, an integer an int64_list one, a string a bytes_list one)."""
import re

import numpy as np
import pytest
import requests

from serving_client import HALF_PLUS_TWO_MODELS, assert_rest_serving, expect_http_error, rest_model_url
from tf_examples import FLOWERS, IRIS, LABELS, example, merged, tensorflow_outputs


def post(rest_url, verb, body, model=IRIS, **where):
    return requests.post(rest_model_url(rest_url, model, **where) + f":{verb}", json=body, timeout=30)


def ok(reply):
    assert reply.status_code == 200, reply.text[:500]
    assert reply.headers["content-type"].startswith("application/json")
    return reply.json()


def assert_classify_results(results, want):
    assert len(results) == len(want["scores"])
    for row, labels, scores in zip(results, want["classes"], want["scores"]):
        assert [label.encode() for label, _ in row] == list(labels)
        np.testing.assert_allclose([score for _, score in row], scores, rtol=1e-6)


@pytest.mark.parametrize("where", [{}, {"version": 1}])
def test_classify_matches_tensorflow(rest_url, where):
    body = ok(post(rest_url, "classify", {"examples": FLOWERS}, **where))
    assert list(body) == ["results"]
    assert_classify_results(body["results"], tensorflow_outputs("serving_default", [example(f) for f in FLOWERS]))
    assert [label for label, _ in body["results"][0]] == LABELS


def test_classify_with_context(rest_url):
    context = {"sepal_length": 5.0, "sepal_width": 3.0, "petal_width": 1.0}
    flowers = [{"petal_length": 1.5}, {"petal_length": 5.5, "petal_width": 2.0}]
    body = ok(post(rest_url, "classify", {"context": context, "examples": flowers}))
    assert_classify_results(body["results"], tensorflow_outputs("serving_default", [merged(context, f) for f in flowers]))


def test_regress_matches_tensorflow(rest_url):
    body = ok(post(rest_url, "regress", {"signature_name": "petal_width", "examples": FLOWERS}))
    want = tensorflow_outputs("petal_width", [example(f) for f in FLOWERS])["outputs"]
    np.testing.assert_allclose(body["results"], want, rtol=1e-6)


def test_response_layout_is_tf_servings(rest_url):
    # rapidjson's PrettyWriter: 4-space indent, the values of "results" on one line.
    reply = post(rest_url, "regress", {"signature_name": "petal_width", "examples": FLOWERS[:2]})
    assert re.fullmatch(r'\{\n    "results": \[[-0-9.e]+, [-0-9.e]+\]\n\}', reply.text), reply.text
    reply = post(rest_url, "classify", {"examples": FLOWERS[:2]})
    row = r'\[(\["\w+", [-0-9.e]+\](, )?){3}\]'
    assert re.fullmatch(rf'\{{\n    "results": \[{row}, {row}\n    \]\n\}}', reply.text), reply.text


# Bad requests: TF-Serving's status codes and messages, and the server keeps serving afterwards.

@pytest.fixture
def still_serving(rest_url):
    yield
    assert_rest_serving(rest_url)
    ok(post(rest_url, "classify", {"examples": FLOWERS}))


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_models_without_such_signatures(rest_url, still_serving, model):
    message = expect_http_error(post(rest_url, "classify", {"examples": FLOWERS}, model=model), 400)
    assert message.startswith("No classification inputs found in SignatureDef: ")
    message = expect_http_error(post(rest_url, "regress", {"examples": FLOWERS}, model=model), 400)
    assert message.startswith("No regression inputs found in SignatureDef: ")


def test_errors(rest_url, still_serving):
    assert expect_http_error(post(rest_url, "regress", {"examples": FLOWERS}), 400) == "Expected one output Tensor."
    assert (expect_http_error(post(rest_url, "classify", {"signature_name": "nope", "examples": FLOWERS}), 400)
            == "No signature was found with the name: nope")
    assert expect_http_error(post(rest_url, "classify", {"examples": []}), 400).endswith(
        "'examples' value is an empty array")
    assert expect_http_error(post(rest_url, "classify", {"instances": FLOWERS}), 400).endswith(
        "When method is classify, key 'examples' is expected and was not found")
    assert (expect_http_error(post(rest_url, "classify", {"examples": [{"petal_length": [1.0, 2]}]}), 400)
            == "Unexpected element type in feature: petal_length expecting type: float")
    expect_http_error(post(rest_url, "classify", {"examples": FLOWERS}, model="no_such_model"), 404)
    # An integer is an int64_list feature; the model parses floats, and says so.
    message = expect_http_error(post(rest_url, "classify", {"examples": [{"petal_length": 1, "petal_width": 1.0}]}),
                                400)
    assert "petal_length" in message
