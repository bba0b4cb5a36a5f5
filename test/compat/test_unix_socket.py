"""--grpc_socket_path: the same gRPC API on a unix domain socket."""
import grpc
import numpy as np
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving_client import HALF_PLUS_TWO_MODELS, content_tensor, predict_request


def test_predict_over_unix_socket(server):
    assert server.unix_socket.is_socket()
    with grpc.insecure_channel(f"unix:{server.unix_socket}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for model in HALF_PLUS_TWO_MODELS:
            x = np.array([1.0, 2.0, 5.0], np.float32)
            response = stub.Predict(predict_request(model, {"x": content_tensor(x)}), timeout=30)
            assert list(response.outputs["y"].float_val) == [2.5, 3.0, 4.5]
