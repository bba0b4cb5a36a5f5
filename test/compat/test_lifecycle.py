"""HandleReloadConfigRequest with the stock client: refused configs are the RPC's status (as
TF-Serving answers), an accepted one answers OK, and version labels then route requests. Every
reload here keeps the session's models as they are, and the last one restores the file's config."""
import grpc
import pytest
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.config import model_server_config_pb2

from serving_client import (HALF_PLUS_TWO_MODELS, assert_grpc_serving, float_val_tensor, predict_request, reload,
                            session_config)

Code = grpc.StatusCode
AVAILABLE = get_model_status_pb2.ModelVersionStatus.AVAILABLE


def model_entry(config, name):
    return next(model for model in config.model_config_list.config if model.name == name)


@pytest.fixture(autouse=True)
def session_config_restored(model_stub, prediction_stub):
    yield
    reload(model_stub, session_config())
    assert_grpc_serving(prediction_stub)


def expect_refused(model_stub, config, code, details):
    with pytest.raises(grpc.RpcError) as raised:
        reload(model_stub, config)
    assert (raised.value.code(), raised.value.details()) == (code, details)


def test_reload_refuses_a_platform_change(model_stub):
    config = session_config()
    model_entry(config, "half_plus_two").model_platform = "pytorch"
    expect_refused(model_stub, config, Code.INVALID_ARGUMENT,
                   "Illegal to change a model's platform. For model half_plus_two platform was tensorflow "
                   "and new platform requested is pytorch")


def test_reload_refuses_a_label_on_a_version_not_available(model_stub):
    config = session_config()
    model_entry(config, "half_plus_two_torch").version_labels["canary"] = 7
    expect_refused(model_stub, config, Code.FAILED_PRECONDITION,
                   "Request to assign label to version 7 of model half_plus_two_torch, which is not currently "
                   "available for inference")


def test_reload_refuses_a_config_without_model_config_list(model_stub):
    expect_refused(model_stub, model_server_config_pb2.ModelServerConfig(), Code.INVALID_ARGUMENT,
                   "ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is "
                   "currently supported")


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_reload_sets_labels_that_route_requests(model_stub, prediction_stub, model):
    config = session_config()
    model_entry(config, model).version_labels["stable"] = 1
    response = reload(model_stub, config, metric_names=["some_metric"])
    assert response.status.error_code == 0 and response.status.error_message == ""
    assert [(metric.name, metric.int64_value_increase) for metric in response.metric] == [("some_metric", 0)]

    predicted = prediction_stub.Predict(predict_request(model, {"x": float_val_tensor([1.0, 2.0, 5.0], [3])},
                                                        label="stable"), timeout=30)
    assert predicted.model_spec.version.value == 1
    status_request = get_model_status_pb2.GetModelStatusRequest()
    status_request.model_spec.name = model
    status_request.model_spec.version_label = "stable"
    status = model_stub.GetModelStatus(status_request, timeout=30)
    assert [(s.version, s.state) for s in status.model_version_status] == [(1, AVAILABLE)]
