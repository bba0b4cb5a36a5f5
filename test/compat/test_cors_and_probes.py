"""--rest_api_enable_cors_support and the HTTP probes (/healthz, /readyz), with plain HTTP
against bin/duoserve.

CORS as TF-Serving's http_server.cc: three fixed headers on every /v1/ response (errors too),
and an OPTIONS preflight answered 200 with no body when Origin is an http(s) origin, else 400."""
import json
import os
import shutil
import signal
import socket
import time
import urllib.parse

import pytest
import requests

from duoserve_process import REPO, DuoserveProcess, model_config_text, serving

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


def probe(server, path):
    reply = requests.get(f"{server.rest_url}{path}", timeout=30)
    return reply.status_code, reply.headers.get("Content-Type"), reply.text


def test_probes_follow_loads_and_the_drain(tmp_path):
    """/healthz and /readyz: ready once every configured model has an AVAILABLE version (a model
    added by a reload makes it not ready until it loads), not ready while draining, live throughout."""
    examples = REPO / "var" / "models" / "examples"
    late_dir = tmp_path / "late"
    late_dir.mkdir()
    late = ("late", str(late_dir), "tensorflow")
    config = tmp_path / "models.config"
    config.write_text(model_config_text([HALF_PLUS_TWO]))
    server = DuoserveProcess.start(config=config, log_name="probes.log",
                                   flags=("--model_config_file_poll_wait_seconds=1", "--rest_api_enable_cors_support"))
    try:
        server.wait_until_available(120)
        text = "text/plain; charset=utf-8"
        assert probe(server, "/healthz") == (200, text, "ok\n")
        assert probe(server, "/readyz") == (200, text, "ok\n")
        # Outside /v1/: no CORS headers, as TF-Serving's other paths.
        assert cors_headers(requests.get(f"{server.rest_url}/readyz", timeout=30)) == dict.fromkeys(CORS_HEADERS)

        staged = tmp_path / "models.config.new"
        staged.write_text(model_config_text([HALF_PLUS_TWO, late]))
        staged.rename(config)
        wait_for(lambda: probe(server, "/readyz")[0] == 503)
        assert probe(server, "/readyz") == (503, text, "No AVAILABLE version yet of model(s): late\n")
        assert probe(server, "/healthz")[0] == 200
        shutil.copytree(examples / "half_plus_two" / "1", tmp_path / "staging")
        (tmp_path / "staging").rename(late_dir / "1")
        wait_for(lambda: probe(server, "/readyz")[0] == 200)

        # A predict whose body is half sent is admitted and keeps the drain going while the
        # probes are read; the rest of its body then gets it answered.
        body = b'{"instances": [1.0, 2.0]}'
        host, port = urllib.parse.urlsplit(server.rest_url).netloc.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(b"POST /v1/models/half_plus_two:predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(0.3)
            os.killpg(server.process.pid, signal.SIGTERM)
            time.sleep(0.3)
            assert probe(server, "/readyz") == (503, text, "The server is shutting down\n")
            assert probe(server, "/healthz") == (200, text, "ok\n")
            connection.sendall(body[10:])
            reply = b""
            while chunk := connection.recv(4096):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200 "), reply[:200]
        assert json.loads(reply.partition(b"\r\n\r\n")[2]) == {"predictions": [2.5, 3.0]}
        assert server.process.wait(30) == 0
    finally:
        server.stop()


def wait_for(condition, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
