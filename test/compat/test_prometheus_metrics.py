"""--monitoring_config_file: TF-Serving's Prometheus page over plain HTTP on the REST port, with
TF-Serving's metric names, and counts that move with requests from the stock clients."""
import re
import tempfile
from pathlib import Path

import grpc
import requests
from tensorflow_serving.apis import prediction_service_pb2_grpc

from duoserve_process import REPO, serving
from tf_examples import CLASSIFY, FLOWERS, IRIS, REGRESS, multi_inference_request

EXAMPLES = REPO / "var" / "models" / "examples"
PATH = "/monitoring/prometheus/metrics"


def sample(page: str, series: str) -> float:
    """The value of one series line (name{labels}); 0 when absent."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", page, re.M)
    return float(match.group(1)) if match else 0.0


def test_prometheus_page_counts_requests():
    config = Path(tempfile.mkdtemp(prefix="duoserve-monitoring-")) / "monitoring.config"
    config.write_text("prometheus_config { enable: true }\n")
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
