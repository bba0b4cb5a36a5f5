"""bin/duoserve as a subprocess, started with tensorflow_model_server's own flags, for the suite.

No stand-in: the suite is only meaningful against the real server with the real models, so a
server that cannot start (or never makes every model AVAILABLE) fails the session with its log.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import requests
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
DUOSERVE = REPO / "bin" / "duoserve"
MODELS_CONFIG = REPO / "var" / "models" / "models.config"
LOG_DIR = REPO / "var" / "compat"

AVAILABLE = get_model_status_pb2.ModelVersionStatus.AVAILABLE


@dataclass
class TlsClient:
    """How the waiting client reaches a server started with --ssl_config_file: trusting `ca`,
    presenting `cert`/`key` when given, and over HTTPS to REST when `rest_https`."""
    ca: Path
    cert: Path | None = None
    key: Path | None = None
    rest_https: bool = False

    def grpc_credentials(self) -> grpc.ChannelCredentials:
        read = lambda path: path.read_bytes() if path else None
        return grpc.ssl_channel_credentials(read(self.ca), read(self.key), read(self.cert))

    def requests_options(self) -> dict:
        return {"verify": str(self.ca), "cert": (str(self.cert), str(self.key)) if self.cert else None}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def model_config_text(entries) -> str:
    """A model_config_list text proto; entries are (name, base_path, platform) or (name,
    base_path, platform, more ModelConfig fields as text)."""
    configs = "".join(f'  config {{ name: "{name}" base_path: "{base_path}" model_platform: "{platform}" '
                      f'{more[0] if more else ""} }}\n' for name, base_path, platform, *more in entries)
    return f"model_config_list {{\n{configs}}}\n"


@contextlib.contextmanager
def serving(entries, *, log_name: str, flags: tuple[str, ...] = (), timeout_s: float = 120,
            tls: TlsClient | None = None):
    """bin/duoserve over a config file of its own holding `entries` (see model_config_text),
    yielded once every model is AVAILABLE, stopped afterwards."""
    config_dir = Path(tempfile.mkdtemp(prefix="duoserve-config-"))
    config = config_dir / "models.config"
    config.write_text(model_config_text(entries))
    server = DuoserveProcess.start(config=config, flags=flags, log_name=log_name, tls=tls)
    try:
        server.wait_until_available(timeout_s)
        yield server
    finally:
        server.stop()
        shutil.rmtree(config_dir, ignore_errors=True)


def model_names(config: Path) -> list[str]:
    """The names in a model_config_list text proto (each `config { name: "..." }`)."""
    return re.findall(r'\bname:\s*"([^"]+)"', config.read_text())


@dataclass
class DuoserveProcess:
    process: subprocess.Popen
    grpc_target: str
    rest_url: str
    unix_socket: Path | None
    log_path: Path
    models: list[str]
    tls: TlsClient | None = None

    @classmethod
    def start(cls, unix_socket: Path | None = None, config: Path = MODELS_CONFIG,
              flags: tuple[str, ...] = (), log_name: str = "duoserve.log",
              tls: TlsClient | None = None) -> "DuoserveProcess":
        """bin/duoserve serving `config` on free ports (and on `unix_socket` when given), with
        tensorflow_model_server's `flags` added to its command line; `tls` says how to reach it
        when those flags ask for TLS."""
        for needed, how in ((DUOSERVE, "the lead's bin/duoserve"), (config, "scripts/setup.sh")):
            if not needed.exists():
                raise RuntimeError(f"{needed} is missing; it comes from {how}")
        grpc_port, rest_port = free_port(), free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / log_name
        socket_flags = [f"--grpc_socket_path={unix_socket}"] if unix_socket else []
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(DUOSERVE), f"--port={grpc_port}", f"--rest_api_port={rest_port}",
                 f"--model_config_file={config}", *socket_flags, *flags],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                # Its own process group, so stop() also reaches children of a wrapper script.
                start_new_session=True,
            )
        scheme = "https" if tls and tls.rest_https else "http"
        return cls(process, f"127.0.0.1:{grpc_port}", f"{scheme}://127.0.0.1:{rest_port}",
                   unix_socket, log_path, model_names(config), tls)

    def log_tail(self, chars: int = 6000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]

    def wait_until_available(self, timeout_s: float) -> None:
        """Returns once both APIs answer and every model's version is AVAILABLE on both."""
        deadline = time.monotonic() + timeout_s
        channel = (grpc.secure_channel(self.grpc_target, self.tls.grpc_credentials()) if self.tls
                   else grpc.insecure_channel(self.grpc_target))
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        waiting_for = "the server to start"
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"bin/duoserve exited with code {self.process.returncode} "
                                       f"while starting; its log ends:\n{self.log_tail()}")
                waiting_for = self._first_unavailable(stub)
                if waiting_for is None:
                    return
                time.sleep(0.25)
        finally:
            channel.close()
        raise RuntimeError(f"bin/duoserve was not ready after {timeout_s:.0f}s (waiting for "
                           f"{waiting_for}); its log ends:\n{self.log_tail()}")

    def _first_unavailable(self, stub) -> str | None:
        for name in self.models:
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = name
            try:
                status = stub.GetModelStatus(request, timeout=2)
            except grpc.RpcError as error:
                return f"gRPC GetModelStatus({name}): {error.code().name}"
            if not any(v.state == AVAILABLE for v in status.model_version_status):
                return f"{name} to become AVAILABLE over gRPC"
            try:
                reply = requests.get(f"{self.rest_url}/v1/models/{name}", timeout=2,
                                     **(self.tls.requests_options() if self.tls else {}))
            except requests.RequestException as error:
                return f"REST /v1/models/{name}: {type(error).__name__}"
            states = [v.get("state") for v in reply.json().get("model_version_status", [])] if reply.ok else []
            if "AVAILABLE" not in states:
                return f"{name} to become AVAILABLE over REST (HTTP {reply.status_code})"
        return None

    def stop(self, grace_s: float = 15) -> None:
        # The whole group: a wrapper script may have exited and left its node child running.
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
