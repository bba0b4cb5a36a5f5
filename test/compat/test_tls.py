"""--ssl_config_file: the stock clients over TLS, with certificates openssl makes for the run.

gRPC secures the TCP port and the unix socket as TF-Serving does; with client_verify a client
certificate signed by custom_ca is required. --duoserve_rest_api_ssl serves REST (the probes
too) over HTTPS with the same certificate. One server per config, shared by its tests."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
from google.protobuf import text_format
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc
from tensorflow_serving.config import model_server_config_pb2

from duoserve_process import REPO, DuoserveProcess, TlsClient, model_config_text, serving
from serving_client import content_tensor, predict_request, reload

EXAMPLES = REPO / "var" / "models" / "examples"
MODEL = "half_plus_two"
ENTRIES = [(MODEL, EXAMPLES / MODEL, "tensorflow")]
X = [1.0, 2.0, 5.0]
Y = [2.5, 3.0, 4.5]
# A unix socket has no host name: the client checks the certificate against this one instead.
NAME_IN_THE_CERTIFICATE = (("grpc.ssl_target_name_override", "localhost"),)


def text_string(text: str) -> str:
    """A text-format string literal (a PEM's line breaks escaped, as the file must hold them)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@pytest.fixture(scope="module")
def certs():
    """ca, server (localhost, 127.0.0.1) and client signed by ca; other_client signed by other_ca."""
    directory = Path(tempfile.mkdtemp(prefix="duoserve-tls-"))  # short: it holds a unix socket too
    subprocess.run(["bash", str(REPO / "test" / "fixtures" / "make_tls_certificates.sh"), str(directory)], check=True)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def ssl_config_file(certs: Path, name: str, *, key="server.key", ca: str | None = "ca.pem",
                    client_verify=False) -> Path:
    fields = [f"server_key: {text_string((certs / key).read_text())}",
              f"server_cert: {text_string((certs / 'server.pem').read_text())}"]
    if ca:
        fields.append(f"custom_ca: {text_string((certs / ca).read_text())}")
    fields.append(f"client_verify: {str(client_verify).lower()}")
    path = certs / name
    path.write_text("\n".join(fields) + "\n")
    return path


@pytest.fixture(scope="module")
def tls_server(certs):
    """Server authentication only, on TCP, the unix socket and REST; reloads over the socket only."""
    config = ssl_config_file(certs, "tls.config")
    flags = (f"--ssl_config_file={config}", "--duoserve_rest_api_ssl", f"--grpc_socket_path={certs / 'grpc.sock'}",
             "--duoserve_reload_config_rpc=socket_only")
    with serving(ENTRIES, log_name="tls.log", flags=flags, tls=TlsClient(certs / "ca.pem", rest_https=True)) as server:
        yield server


@pytest.fixture(scope="module")
def mtls_server(certs):
    """client_verify: only clients with a certificate signed by ca."""
    config = ssl_config_file(certs, "mtls.config", client_verify=True)
    tls = TlsClient(certs / "ca.pem", certs / "client.pem", certs / "client.key", rest_https=True)
    with serving(ENTRIES, log_name="mtls.log", flags=(f"--ssl_config_file={config}", "--duoserve_rest_api_ssl"),
                 tls=tls) as server:
        yield server


def grpc_predict(target: str, credentials: grpc.ChannelCredentials | None, options=()):
    channel = grpc.secure_channel(target, credentials, options) if credentials else grpc.insecure_channel(target)
    with channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_request(MODEL, {"x": content_tensor(np.array(X, np.float32))})
        return list(stub.Predict(request, timeout=10).outputs["y"].float_val)


def expect_unavailable(target: str, credentials: grpc.ChannelCredentials | None) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        grpc_predict(target, credentials, NAME_IN_THE_CERTIFICATE)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def credentials(certs: Path, ca="ca.pem", client: str | None = None) -> grpc.ChannelCredentials:
    key, cert = ((certs / f"{client}.key").read_bytes(), (certs / f"{client}.pem").read_bytes()) if client else (None, None)
    return grpc.ssl_channel_credentials((certs / ca).read_bytes(), key, cert)


def rest_predict(url: str, **options) -> list:
    reply = requests.post(f"{url}/v1/models/{MODEL}:predict", json={"instances": X}, timeout=10, **options)
    assert reply.status_code == 200, reply.text
    return reply.json()["predictions"]


def test_grpc_predict_over_tls_trusting_the_ca(tls_server, certs):
    assert grpc_predict(tls_server.grpc_target, credentials(certs)) == Y
    log = tls_server.log_tail()
    assert f"Running gRPC ModelServer at 0.0.0.0:{tls_server.grpc_target.split(':')[1]} (TLS) ..." in log
    assert "(TLS) ..." in log.split("Exporting HTTP/REST API at:")[1].splitlines()[0]


def test_grpc_refuses_plaintext_and_untrusted_clients_refuse_it(tls_server, certs):
    expect_unavailable(tls_server.grpc_target, None)
    expect_unavailable(tls_server.grpc_target, credentials(certs, ca="other_ca.pem"))


def test_unix_socket_serves_tls_as_tf_serving_does(tls_server, certs):
    target = f"unix:{certs / 'grpc.sock'}"
    assert grpc_predict(target, credentials(certs), NAME_IN_THE_CERTIFICATE) == Y
    expect_unavailable(target, None)


def test_reload_rpc_over_the_tls_socket_only(tls_server, certs):
    """--duoserve_reload_config_rpc=socket_only still tells a TLS unix socket from TLS over TCP."""
    config = text_format.Parse(model_config_text(ENTRIES), model_server_config_pb2.ModelServerConfig())
    with grpc.secure_channel(f"unix:{certs / 'grpc.sock'}", credentials(certs), NAME_IN_THE_CERTIFICATE) as channel:
        assert reload(model_service_pb2_grpc.ModelServiceStub(channel), config).status.error_code == 0
    with grpc.secure_channel(tls_server.grpc_target, credentials(certs)) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            reload(model_service_pb2_grpc.ModelServiceStub(channel), config)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_rest_over_https_probes_included(tls_server, certs):
    assert tls_server.rest_url.startswith("https://")
    assert rest_predict(tls_server.rest_url, verify=str(certs / "ca.pem")) == Y
    for probe in ("/healthz", "/readyz"):
        assert requests.get(tls_server.rest_url + probe, verify=str(certs / "ca.pem"), timeout=10).text == "ok\n"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(tls_server.rest_url.replace("https://", "http://") + "/healthz", timeout=10)
    with pytest.raises(requests.exceptions.SSLError):  # the system's CAs do not know ours
        requests.get(tls_server.rest_url + "/healthz", timeout=10)


def test_client_verify_takes_only_clients_that_ca_signed(mtls_server, certs):
    target = mtls_server.grpc_target
    assert grpc_predict(target, credentials(certs, client="client")) == Y
    expect_unavailable(target, credentials(certs))
    expect_unavailable(target, credentials(certs, client="other_client"))
    expect_unavailable(target, None)
    assert "(TLS, client certificates required) ..." in mtls_server.log_tail()


def test_rest_client_verify_takes_only_clients_that_ca_signed(mtls_server, certs):
    ca = str(certs / "ca.pem")
    assert rest_predict(mtls_server.rest_url, verify=ca, cert=(str(certs / "client.pem"), str(certs / "client.key"))) == Y
    for cert in (None, (str(certs / "other_client.pem"), str(certs / "other_client.key"))):
        with pytest.raises(requests.exceptions.ConnectionError):
            rest_predict(mtls_server.rest_url, verify=ca, cert=cert)


def start_refusal(flags: tuple[str, ...], log_name: str) -> str:
    """What bin/duoserve prints when it refuses to start with `flags` (it must exit 255)."""
    config = Path(tempfile.mkdtemp(prefix="duoserve-config-")) / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "{MODEL}" base_path: "{EXAMPLES / MODEL}" '
                      'model_platform: "tensorflow" } }\n')
    server = DuoserveProcess.start(config=config, flags=flags, log_name=log_name)
    try:
        assert server.process.wait(60) == 255
    finally:
        server.stop()
        shutil.rmtree(config.parent, ignore_errors=True)
    return server.log_tail()


def test_tls_that_cannot_be_served_refuses_the_start(certs):
    mismatched = ssl_config_file(certs, "mismatched.config", key="client.key")
    output = start_refusal((f"--ssl_config_file={mismatched}",), "tls_mismatched.log")
    assert (f"Failed to start server. Error: INVALID_ARGUMENT: --ssl_config_file {mismatched}: "
            "server_key does not match server_cert") in output
    assert "BEGIN" not in output and "Running gRPC ModelServer" not in output
    no_ca = ssl_config_file(certs, "no_ca.config", ca=None, client_verify=True)
    assert "client_verify is true but custom_ca is empty" in start_refusal((f"--ssl_config_file={no_ca}",),
                                                                           "tls_no_ca.log")
    assert ("--duoserve_rest_api_ssl needs --ssl_config_file"
            in start_refusal(("--duoserve_rest_api_ssl",), "tls_rest_alone.log"))
