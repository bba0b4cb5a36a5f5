"""--monitoring_config_file: TF-Serving's Prometheus page over plain HTTP on the REST port, with
TF-Serving's metric names, and counts that move with requests from the stock clients; duoserve's
own figures (chain steps, model memory, the process) beside them."""
import re
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import requests
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc
from tensorflow_serving.config import model_server_config_pb2

from duoserve_process import REPO, model_config_text, serving
from serving_client import content_tensor, expect_rpc_error, float_val_tensor, predict_request, reload
from tf_examples import CLASSIFY, FLOWERS, IRIS, REGRESS, classification_request, multi_inference_request

EXAMPLES = REPO / "var" / "models" / "examples"
PATH = "/monitoring/prometheus/metrics"


def sample(page: str, series: str) -> float:
    """The value of one series line (name{labels}); 0 when absent."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", page, re.M)
    return float(match.group(1)) if match else 0.0


def series(page: str, name: str, **labels: str) -> float | None:
    """The value of the series `name` whose labels are exactly `labels`, in any order; None when absent."""
    for match in re.finditer(rf"^{re.escape(name)}(?:{{(.*)}})? (\S+)$", page, re.M):
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if found == labels:
            return float(match.group(2))
    return None


def monitoring_config() -> Path:
    config = Path(tempfile.mkdtemp(prefix="duoserve-monitoring-")) / "monitoring.config"
    config.write_text("prometheus_config { enable: true }\n")
    return config


def test_prometheus_page_counts_requests():
    config = monitoring_config()
    entries = [(IRIS, EXAMPLES / "iris", "tensorflow"), ("half_plus_two_torch", EXAMPLES / "half_plus_two_torch", "pytorch")]
    with serving(entries, log_name="prometheus_metrics.log", flags=(f"--monitoring_config_file={config}",)) as server:
        page = requests.get(server.rest_url + PATH, timeout=30)
        assert page.status_code == 200
        assert page.headers["Content-Type"] == "text/plain"
        for name, kind in ((":tensorflow:serving:request_count", "counter"),
                           (":tensorflow:serving:request_latency", "histogram"),
                           (":tensorflow:serving:request_example_counts", "histogram"),
                           (":tensorflow:serving:request_example_count_total", "counter"),
                           (":tensorflow:cc:saved_model:load_attempt_count", "counter"),
                           (":tensorflow:cc:saved_model:load_latency", "counter")):
            assert f"# TYPE {name} {kind}\n" in page.text
        for model in ("iris", "half_plus_two_torch"):
            assert sample(page.text, f':tensorflow:cc:saved_model:load_attempt_count{{model_path="{EXAMPLES / model / "1"}",status="success"}}') == 1

        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            stub.MultiInference(multi_inference_request([("petal_width", REGRESS), ("serving_default", CLASSIFY)]),
                                timeout=30)
        predicted = requests.post(f"{server.rest_url}/v1/models/half_plus_two_torch:predict",
                                  json={"instances": [1.0, 2.0, 5.0]}, timeout=30)
        assert predicted.status_code == 200
        missing = requests.post(f"{server.rest_url}/v1/models/nope:predict", json={"instances": [1.0]}, timeout=30)
        assert missing.status_code == 404

        after = requests.get(server.rest_url + PATH, timeout=30).text
        assert sample(after, f':tensorflow:serving:request_example_count_total{{model="{IRIS}"}}') == len(FLOWERS)
        ok = ':tensorflow:serving:request_count{model_name="half_plus_two_torch",status="OK"}'
        assert sample(after, ok) - sample(page.text, ok) == 1
        assert sample(after, ':tensorflow:serving:request_count{model_name="nope",status="NOT_FOUND"}') == 1
        assert sample(after, ':tensorflow:serving:request_latency_count'
                             '{model_name="half_plus_two_torch",API="predict",entrypoint="REST"}') == 1


RUNTIME = ":tensorflow:serving:runtime_latency"
WARMUP = ":tensorflow:serving:model_warmup_latency"
WARMUP_RECORDS = ":tensorflow:serving:model_warmup_records_read"
STEP_LATENCY = "duoserve_chain_step_latency_microseconds"
STEP_FAILURES = "duoserve_chain_step_failures_total"
MODEL_MEMORY = "duoserve_model_memory_bytes"
CHAIN = "features_to_ranker"
MODELS = [("half_plus_two", "tensorflow"), ("half_plus_two_torch", "pytorch"), (IRIS, "tensorflow"),
          ("features", "tensorflow"), ("ranker", "pytorch"), (CHAIN, "chain")]


def test_runtime_warmup_chain_memory_and_process_figures():
    entries = [(name, EXAMPLES / name, platform) for name, platform in MODELS]
    flags = (f"--monitoring_config_file={monitoring_config()}",)
    with serving(entries, log_name="prometheus_runtime_metrics.log", flags=flags) as server:
        page = requests.get(server.rest_url + PATH, timeout=30).text
        for name, kind in ((RUNTIME, "histogram"), (WARMUP, "histogram"), (WARMUP_RECORDS, "counter"),
                           (STEP_LATENCY, "histogram"), (STEP_FAILURES, "counter"), (MODEL_MEMORY, "gauge"),
                           ("process_cpu_user_seconds_total", "counter"), ("process_resident_memory_bytes", "gauge"),
                           ("nodejs_eventloop_lag_seconds", "gauge"), ("nodejs_heap_size_used_bytes", "gauge")):
            assert f"# TYPE {name} {kind}\n" in page, name
        assert series(page, "process_resident_memory_bytes") > 0

        # Each example model's warmup file holds predict_log records naming the model; they ran at
        # load, as TF-Serving's warmup does, each counted as a Predict in the model's runtime.
        warmup_records = {}
        for model in ("half_plus_two", "half_plus_two_torch"):
            version_dir = str(EXAMPLES / model / "1")
            warmup_records[model] = sum(1 for _ in tf.data.TFRecordDataset(
                f"{version_dir}/assets.extra/tf_serving_warmup_requests"))
            assert series(page, f"{WARMUP}_count", model_path=version_dir, status="OK") == 1
            assert series(page, f"{WARMUP}_sum", model_path=version_dir, status="OK") > 0
            assert series(page, WARMUP_RECORDS, model_path=version_dir, status="OK") == warmup_records[model] > 0
        assert series(page, f"{WARMUP}_count", model_path=str(EXAMPLES / IRIS / "1"), status="OK") is None
        for model, version in ((name, "1") for name, _ in MODELS):
            assert series(page, MODEL_MEMORY, model=model, version=version) >= 0, model

        runtimes = {"half_plus_two": "TF1", "half_plus_two_torch": "TorchScript"}
        before = {model: series(page, f"{RUNTIME}_count", model_name=model, API="Predict", runtime=runtime)
                  for model, runtime in runtimes.items()}
        assert before == warmup_records
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            for model in runtimes:
                stub.Predict(predict_request(model, {"x": float_val_tensor([1.0, 2.0], [2])}), timeout=30)
                rest = requests.post(f"{server.rest_url}/v1/models/{model}:predict", json={"instances": [1.0]},
                                     timeout=30)
                assert rest.status_code == 200
            # A run the runtime refuses is no runtime_latency sample, as in TF-Serving.
            expect_rpc_error(stub.Predict, predict_request("half_plus_two", {"x": content_tensor(np.ones(2, np.int32))}),
                             grpc.StatusCode.INVALID_ARGUMENT)
            stub.Classify(classification_request(), timeout=30)
            x = np.random.default_rng(12).standard_normal((2, 32)).astype(np.float32)
            stub.Predict(predict_request(CHAIN, {"x": content_tensor(x)}), timeout=30)
            wrong_width = np.zeros((1, 31), np.float32)
            expect_rpc_error(stub.Predict, predict_request(CHAIN, {"x": content_tensor(wrong_width)}),
                             grpc.StatusCode.INVALID_ARGUMENT)
            # Bytes that are no PredictRequest never reach TF-Serving's handler: nothing is counted.
            garbage = channel.unary_unary("/tensorflow.serving.PredictionService/Predict")
            try:
                garbage(b"\xff\xff\xff", timeout=30)
                raise AssertionError("an unparseable request was answered OK")
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.INTERNAL, error

        after = requests.get(server.rest_url + PATH, timeout=30).text
        assert not re.search(r'^:tensorflow:serving:request_count\{model_name="",', after, re.M)
        for model, runtime in runtimes.items():
            count = series(after, f"{RUNTIME}_count", model_name=model, API="Predict", runtime=runtime)
            assert count - before[model] == 2, model
        assert series(after, f"{RUNTIME}_count", model_name=IRIS, API="Classify", runtime="TF1") == 1
        # A chain has no runtime of its own, and its steps are no API requests: neither is a
        # runtime_latency sample (the chain step figures below are).
        for model in (CHAIN, "features", "ranker"):
            assert not re.search(rf'^{RUNTIME}_count{{model_name="{model}"', after, re.M), model
        for step in ("featurize", "rank"):
            assert series(after, f"{STEP_LATENCY}_count", chain=CHAIN, step=step) == (2 if step == "featurize" else 1)
            assert series(after, f"{STEP_LATENCY}_sum", chain=CHAIN, step=step) > 0
        assert series(after, STEP_FAILURES, chain=CHAIN, step="featurize") == 1
        assert series(after, STEP_FAILURES, chain=CHAIN, step="rank") is None

        # Dropping a model from the config unloads its version, and its memory figure goes with it.
        kept = [entry for entry in entries if entry[0] != "half_plus_two_torch"]
        config = text_format.Parse(model_config_text(kept), model_server_config_pb2.ModelServerConfig())
        with grpc.insecure_channel(server.grpc_target) as channel:
            reload(model_service_pb2_grpc.ModelServiceStub(channel), config)
        deadline = time.monotonic() + 30
        while series(requests.get(server.rest_url + PATH, timeout=30).text, MODEL_MEMORY,
                     model="half_plus_two_torch", version="1") is not None:
            assert time.monotonic() < deadline, "half_plus_two_torch's memory figure outlived its unload"
            time.sleep(0.2)
        final = requests.get(server.rest_url + PATH, timeout=30).text
        assert series(final, MODEL_MEMORY, model="half_plus_two", version="1") is not None
