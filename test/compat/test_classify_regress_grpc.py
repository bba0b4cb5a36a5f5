"""Classify, Regress and MultiInference over gRPC with the stock tensorflow_serving.apis client,
checked against what TensorFlow computes in Python for the same tf.Examples."""
import grpc
import pytest
from tensorflow_serving.apis import classification_pb2, inference_pb2, regression_pb2

from serving_client import HALF_PLUS_TWO_MODELS, assert_grpc_serving, expect_rpc_error
from tf_examples import (CLASSIFY, FLOWERS, IRIS, LABELS, REGRESS, assert_classifications, assert_regressions,
                         classification_request, merged, multi_inference_request, regression_request,
                         tensorflow_outputs, example)

Code = grpc.StatusCode


def test_classify_matches_tensorflow(prediction_stub):
    response = prediction_stub.Classify(classification_request(), timeout=30)
    want = tensorflow_outputs("serving_default", [example(f) for f in FLOWERS])
    assert_classifications(response.result, want["classes"], want["scores"])
    assert [c.label for c in response.result.classifications[0].classes] == LABELS
    best = [max(c.classes, key=lambda k: k.score).label for c in response.result.classifications]
    assert best == ["setosa", "versicolor", "virginica", "virginica"]


def test_classify_response_names_model_version_and_signature(prediction_stub):
    for signature_name in (None, "", "serving_default"):
        response = prediction_stub.Classify(classification_request(signature_name=signature_name), timeout=30)
        assert response.model_spec.name == IRIS
        assert response.model_spec.version.value == 1
        assert response.model_spec.signature_name == "serving_default"


def test_classify_version_and_label_free_spec(prediction_stub):
    request = classification_request()
    request.model_spec.version.value = 1
    response = prediction_stub.Classify(request, timeout=30)
    assert len(response.result.classifications) == len(FLOWERS)


def test_classify_with_context_merges_each_example(prediction_stub):
    context = {"sepal_length": 5.0, "sepal_width": 3.0, "petal_width": 1.0}
    flowers = [{"petal_length": 1.5}, {"petal_length": 5.5, "petal_width": 2.0}]
    response = prediction_stub.Classify(classification_request(flowers=flowers, context=context), timeout=30)
    want = tensorflow_outputs("serving_default", [merged(context, f) for f in flowers])
    assert_classifications(response.result, want["classes"], want["scores"])


def test_regress_matches_tensorflow(prediction_stub):
    response = prediction_stub.Regress(regression_request(), timeout=30)
    assert_regressions(response.result, tensorflow_outputs("petal_width", [example(f) for f in FLOWERS])["outputs"])
    assert response.model_spec.signature_name == "petal_width"
    assert response.model_spec.version.value == 1


def test_multi_inference_runs_every_task_in_order(prediction_stub):
    request = multi_inference_request([("petal_width", REGRESS), ("serving_default", CLASSIFY)])
    response = prediction_stub.MultiInference(request, timeout=30)
    assert [r.WhichOneof("result") for r in response.results] == ["regression_result", "classification_result"]
    assert [(r.model_spec.name, r.model_spec.version.value, r.model_spec.signature_name) for r in response.results] == [
        (IRIS, 1, "petal_width"), (IRIS, 1, "serving_default")]
    examples = [example(f) for f in FLOWERS]
    assert_regressions(response.results[0].regression_result, tensorflow_outputs("petal_width", examples)["outputs"])
    want = tensorflow_outputs("serving_default", examples)
    assert_classifications(response.results[1].classification_result, want["classes"], want["scores"])


# Bad requests: TF-Serving's status codes and messages, and the server keeps serving afterwards.

@pytest.fixture
def still_serving(prediction_stub):
    yield
    assert_grpc_serving(prediction_stub)
    prediction_stub.Classify(classification_request(), timeout=30)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_models_without_such_signatures(prediction_stub, still_serving, model):
    # Both frameworks: a predict signature with input "x" has no "inputs" to feed the examples to.
    error = expect_rpc_error(prediction_stub.Classify, classification_request(model), Code.INVALID_ARGUMENT)
    assert error.details().startswith('No classification inputs found in SignatureDef: inputs {\n  key: "x"\n')
    assert error.details().endswith('method_name: "tensorflow/serving/predict"\n')
    error = expect_rpc_error(prediction_stub.Regress, regression_request(model, signature_name=None),
                             Code.INVALID_ARGUMENT)
    assert error.details().startswith("No regression inputs found in SignatureDef: ")


def test_signature_errors(prediction_stub, still_serving):
    error = expect_rpc_error(prediction_stub.Classify, classification_request(signature_name="nope"),
                             Code.INVALID_ARGUMENT)
    assert error.details() == "No signature was found with the name: nope"
    error = expect_rpc_error(prediction_stub.Regress, regression_request(signature_name=None), Code.INVALID_ARGUMENT)
    assert error.details() == "Expected one output Tensor."
    error = expect_rpc_error(prediction_stub.Classify, classification_request(signature_name="petal_width"),
                             Code.INVALID_ARGUMENT)
    assert error.details().startswith('Expected classification signature outputs to contain at least one of '
                                      '"classes" or "scores". Signature was: ')


def test_request_errors(prediction_stub, still_serving):
    error = expect_rpc_error(prediction_stub.Classify, classification_request(flowers=[]), Code.INVALID_ARGUMENT)
    assert error.details() == "Input is empty."
    error = expect_rpc_error(prediction_stub.Regress, regression_pb2.RegressionRequest(), Code.INVALID_ARGUMENT)
    assert error.details() == "Missing ModelSpec"
    expect_rpc_error(prediction_stub.Classify, classification_request("no_such_model"), Code.NOT_FOUND)
    # No petal_length: the model's tf.io.parse_example refuses the example.
    error = expect_rpc_error(prediction_stub.Classify, classification_request(flowers=[{"petal_width": 1.0}]),
                             Code.INVALID_ARGUMENT)
    assert "petal_length" in error.details()


def test_multi_inference_errors(prediction_stub, still_serving):
    call = prediction_stub.MultiInference
    error = expect_rpc_error(call, multi_inference_request([("serving_default", "tensorflow/serving/predict")]),
                             Code.UNIMPLEMENTED)
    assert error.details() == "Unsupported signature method_name: tensorflow/serving/predict"
    request = multi_inference_request([("serving_default", CLASSIFY), ("petal_width", REGRESS)])
    request.tasks[1].model_spec.name = "half_plus_two"
    error = expect_rpc_error(call, request, Code.INVALID_ARGUMENT)
    assert error.details() == "All ModelSpecs in a MultiInferenceRequest must access the same model name."
    error = expect_rpc_error(call, multi_inference_request([("petal_width", REGRESS), ("petal_width", REGRESS)]),
                             Code.INVALID_ARGUMENT)
    assert error.details() == "Duplicate evaluation of signature: petal_width"
    error = expect_rpc_error(call, multi_inference_request([("nope", REGRESS)]), Code.INVALID_ARGUMENT)
    assert error.details() == "Requested signature not found in model graph: nope"
    expect_rpc_error(call, inference_pb2.MultiInferenceRequest(), Code.INVALID_ARGUMENT)


def test_empty_request_messages(prediction_stub, still_serving):
    expect_rpc_error(prediction_stub.Classify, classification_pb2.ClassificationRequest(), Code.INVALID_ARGUMENT)
