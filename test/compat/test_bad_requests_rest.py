"""Bad REST requests get TF-Serving's HTTP status and {"error": ...}, and the server keeps serving."""
import json
import socket
import urllib.parse

import pytest
import requests

from serving_client import HALF_PLUS_TWO_MODELS, MLP_MODELS, assert_rest_serving, expect_http_error, rest_model_url


@pytest.fixture(autouse=True)
def still_serving_afterwards(rest_url):
    yield
    assert_rest_serving(rest_url)


def post_predict(rest_url, model, body, **where):
    """`body`: a JSON-able value, or bytes sent as they are."""
    url = rest_model_url(rest_url, model, **where) + ":predict"
    if isinstance(body, bytes):
        return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    return requests.post(url, json=body, timeout=30)


def test_unknown_model(rest_url):
    expect_http_error(post_predict(rest_url, "no_such_model", {"instances": [1.0]}), 404)
    expect_http_error(requests.get(rest_model_url(rest_url, "no_such_model"), timeout=30), 404)
    expect_http_error(requests.get(rest_model_url(rest_url, "no_such_model") + "/metadata", timeout=30), 404)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_version(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"instances": [1.0]}, version=7), 404)
    expect_http_error(requests.get(rest_model_url(rest_url, model, version=7), timeout=30), 404)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_label(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"instances": [1.0]}, label="no_such_label"), 400)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_signature_name(rest_url, model):
    body = {"signature_name": "no_such_signature", "instances": [1.0]}
    assert "no_such_signature" in expect_http_error(post_predict(rest_url, model, body), 400)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
@pytest.mark.parametrize("body", [{"inputs": {"z": [1.0]}}, {"instances": [{"z": 1.0}]}], ids=["inputs", "instances"])
def test_unknown_input_name(rest_url, model, body):
    expect_http_error(post_predict(rest_url, model, body), 400)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_neither_instances_nor_inputs(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"signature_name": "serving_default"}), 400)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_both_instances_and_inputs(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"instances": [1.0], "inputs": [1.0]}), 400)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
@pytest.mark.parametrize("body", [b'{"instances": [1.0, 2.0', b"instances=1.0", b"", b"[1.0, 2.0]"],
                         ids=["truncated", "not_json", "empty", "not_an_object"])
def test_invalid_json(rest_url, model, body):
    expect_http_error(post_predict(rest_url, model, body), 400)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_values_of_the_wrong_type(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"instances": ["a", "b"]}), 400)


@pytest.mark.parametrize("model", MLP_MODELS)
def test_ragged_instances(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"instances": [[0.5] * 512, [0.5] * 511]}), 400)


@pytest.mark.parametrize("model", MLP_MODELS)
def test_ragged_inputs(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"inputs": {"x": [[0.5] * 512, [0.5] * 256]}}), 400)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_ragged_nesting(rest_url, model):
    expect_http_error(post_predict(rest_url, model, {"inputs": [[1.0, 2.0], 3.0]}), 400)


def test_trace_method_is_not_implemented(rest_url):
    # libevent lets GET, POST, HEAD, PUT, DELETE, OPTIONS and PATCH through, and answers the rest 501.
    reply = requests.request("TRACE", rest_model_url(rest_url, "half_plus_two"), timeout=30)
    assert expect_http_error(reply, 501) == "HTTP method TRACE is not supported"


def test_connect_method_is_answered(rest_url):
    # Node's HTTP server closes a CONNECT without a word unless someone listens for it; TF-Serving
    # (libevent, which does not allow CONNECT) answers 501 Not Implemented.
    host, port = urllib.parse.urlsplit(rest_url).netloc.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        reply = b""
        while chunk := connection.recv(4096):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501 "), reply[:200]
    assert json.loads(body) == {"error": "HTTP method CONNECT is not supported"}
