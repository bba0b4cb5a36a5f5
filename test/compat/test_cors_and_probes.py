"""--rest_api_enable_cors_support and the HTTP probes, with plain HTTP against bin/duoserve.

CORS as TF-Serving's http_server.cc: three fixed headers on every /v1/ response (errors too),
and an OPTIONS preflight answered 200 with no body when Origin is an http(s) origin, else 400."""
import pytest
import requests

from duoserve_process import REPO, serving

HALF_PLUS_TWO = ("half_plus_two", str(REPO / "var" / "models" / "examples" / "half_plus_two"), "tensorflow")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET",
    "Access-Control-Allow-Headers": "Content-Type",
}


def cors_headers(reply):
    return {name: reply.headers.get(name) for name in CORS_HEADERS}


@pytest.fixture(scope="module")
def cors_server():
    with serving([HALF_PLUS_TWO], log_name="cors.log", flags=("--rest_api_enable_cors_support",)) as server:
        yield server


def test_cors_headers_on_answers_and_errors(cors_server):
    url = f"{cors_server.rest_url}/v1/models/half_plus_two"
    replies = [
        requests.get(url, timeout=30),
        requests.post(f"{url}:predict", json={"instances": [1.0, 2.0]}, timeout=30),
        requests.get(f"{cors_server.rest_url}/v1/models/missing", timeout=30),
        requests.post(f"{url}:predict", data="{not json", timeout=30),
    ]
    assert [reply.status_code for reply in replies] == [200, 200, 404, 400]
    assert replies[1].json() == {"predictions": [2.5, 3.0]}
    for reply in replies:
        assert cors_headers(reply) == CORS_HEADERS


def test_cors_preflight(cors_server):
    url = f"{cors_server.rest_url}/v1/models/half_plus_two:predict"
    preflight = requests.options(url, headers={"Origin": "http://localhost:3000",
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "content-type"}, timeout=30)
    assert (preflight.status_code, preflight.content) == (200, b"")
    assert cors_headers(preflight) == CORS_HEADERS
    no_origin = requests.options(url, timeout=30)
    assert (no_origin.status_code, no_origin.content) == (400, b"")
    assert cors_headers(no_origin) == CORS_HEADERS


def test_no_cors_headers_by_default(rest_url):
    reply = requests.get(f"{rest_url}/v1/models/half_plus_two", timeout=30)
    assert reply.status_code == 200
    assert cors_headers(reply) == dict.fromkeys(CORS_HEADERS)
    # The preflight is answered with CORS support off too, as TF-Serving answers it.
    preflight = requests.options(f"{rest_url}/v1/models/half_plus_two", headers={"Origin": "https://a.example"},
                                 timeout=30)
    assert (preflight.status_code, preflight.content) == (200, b"")
