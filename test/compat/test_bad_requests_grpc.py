"""Bad gRPC requests get TF-Serving's status codes, and the server keeps serving afterwards."""
import re

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from serving_client import (HALF_PLUS_TWO_MODELS, assert_grpc_serving, expect_rpc_error, float_val_tensor,
                            predict_request, shape_proto)

Code = grpc.StatusCode
GOOD_X = float_val_tensor([1.0, 2.0], [2])


@pytest.fixture(autouse=True)
def still_serving_afterwards(prediction_stub):
    yield
    assert_grpc_serving(prediction_stub)


@pytest.fixture
def predict(prediction_stub):
    return prediction_stub.Predict


def test_unknown_model(predict):
    expect_rpc_error(predict, predict_request("no_such_model", {"x": GOOD_X}), Code.NOT_FOUND)


def test_unknown_model_metadata_and_status(prediction_stub, model_stub):
    metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    metadata.model_spec.name = "no_such_model"
    expect_rpc_error(prediction_stub.GetModelMetadata, metadata, Code.NOT_FOUND)
    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = "no_such_model"
    expect_rpc_error(model_stub.GetModelStatus, status, Code.NOT_FOUND)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_metadata_without_or_with_unknown_field(prediction_stub, model):
    for fields in ([], ["no_such_field"]):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=fields)
        request.model_spec.name = model
        expect_rpc_error(prediction_stub.GetModelMetadata, request, Code.INVALID_ARGUMENT)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_version(predict, model_stub, model):
    expect_rpc_error(predict, predict_request(model, {"x": GOOD_X}, version=7), Code.NOT_FOUND)
    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = model
    status.model_spec.version.value = 7
    expect_rpc_error(model_stub.GetModelStatus, status, Code.NOT_FOUND)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_label(predict, model):
    error = expect_rpc_error(predict, predict_request(model, {"x": GOOD_X}, label="no_such_label"),
                             Code.INVALID_ARGUMENT)
    assert "no_such_label" in error.details()


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_signature_name(predict, model):
    # TF-Serving's predict_util: 'Serving signature key "..." not found.' is FAILED_PRECONDITION.
    error = expect_rpc_error(predict, predict_request(model, {"x": GOOD_X}, signature_name="no_such_signature"),
                             Code.FAILED_PRECONDITION)
    assert "no_such_signature" in error.details()


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_input_name(predict, model):
    error = expect_rpc_error(predict, predict_request(model, {"z": GOOD_X}), Code.INVALID_ARGUMENT)
    assert "z" in error.details()


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_missing_input(predict, model):
    expect_rpc_error(predict, predict_request(model, {}), Code.INVALID_ARGUMENT)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_extra_input(predict, model):
    expect_rpc_error(predict, predict_request(model, {"x": GOOD_X, "z": GOOD_X}), Code.INVALID_ARGUMENT)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_unknown_output_filter(predict, model):
    expect_rpc_error(predict, predict_request(model, {"x": GOOD_X}, output_filter=["no_such_output"]),
                     Code.INVALID_ARGUMENT)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
@pytest.mark.parametrize("wrong", [np.array([1, 2], np.int64), np.array([1.0, 2.0], np.float64)])
def test_dtype_mismatch(predict, model, wrong):
    expect_rpc_error(predict, predict_request(model, {"x": tf.make_tensor_proto(wrong)}), Code.INVALID_ARGUMENT)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
@pytest.mark.parametrize("content_bytes", [8, 16])  # shape [3] of float32 needs 12
def test_tensor_content_length_does_not_match_shape(predict, model, content_bytes):
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape_proto([3]),
                                    tensor_content=bytes(content_bytes))
    expect_rpc_error(predict, predict_request(model, {"x": tensor}), Code.INVALID_ARGUMENT)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
@pytest.mark.parametrize("dim", [-1, -3])
def test_negative_dimension(predict, model, dim):
    expect_rpc_error(predict, predict_request(model, {"x": float_val_tensor([1.0], [dim])}), Code.INVALID_ARGUMENT)


# Each is unparseable as a PredictRequest by any protobuf parser: a length-delimited model_spec
# (field 1) running past the end, and an unknown field with wire type 7, which does not exist.
GARBAGE = [b"\x0a\x64abc", b"\x7f\x00\x01\x02"]


@pytest.mark.parametrize("payload", GARBAGE, ids=["truncated", "bad_wire_type"])
def test_malformed_request_bytes(grpc_channel, payload):
    # TF-Serving's gRPC server (grpc++) answers a request it cannot parse with INTERNAL before any
    # handler runs; grpc-js does the same when its deserializer throws.
    raw_predict = grpc_channel.unary_unary("/tensorflow.serving.PredictionService/Predict",
                                           request_serializer=None, response_deserializer=None)
    expect_rpc_error(raw_predict, payload, Code.INTERNAL)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
@pytest.mark.parametrize("dims", [[2**62, 2**62], [2**31, 2**31, 2**31]], ids=["int64_overflow", "three_big_dims"])
def test_overflowing_dimensions(predict, model, dims):
    # One value broadcast over a shape whose element count overflows int64: refused, not allocated.
    expect_rpc_error(predict, predict_request(model, {"x": float_val_tensor([1.0], dims)}), Code.INVALID_ARGUMENT)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_server_keeps_serving_after_every_bad_request(predict, model):
    # Every test above ends with the server alive; this one checks an answer is still right.
    response = predict(predict_request(model, {"x": tf.make_tensor_proto([1.0, 2.0], dtype=tf.float32)}))
    assert list(response.outputs["y"].float_val) == [2.5, 3.0]


MAX_STATUS_MESSAGE_BYTES = 2048  # src/errors/status_message.ts


@pytest.mark.parametrize("request_of, code", [
    # The unknown alias is quoted in the message.
    (lambda: predict_request("half_plus_two", {"x" * 20_000: GOOD_X}), Code.INVALID_ARGUMENT),
    (lambda: predict_request("m" * 20_000, {"x": GOOD_X}), Code.NOT_FOUND),
], ids=["20000_char_input_alias", "20000_char_model_name"])
def test_long_error_messages_are_cut_to_fit_a_trailer(predict, request_of, code):
    # Uncut, the ~20 KB message overflows the client's metadata limit: the stock client would see
    # RESOURCE_EXHAUSTED instead of the status the server answered.
    details = expect_rpc_error(predict, request_of(), code).details()
    assert len(details.encode()) <= MAX_STATUS_MESSAGE_BYTES
    assert re.search(r"\.\.\. \[message cut: \d+ bytes in all\]$", details), details[-200:]


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_input_map_entry_without_a_value(grpc_channel, model):
    # inputs {key: "x"} with no value: on the wire an empty TensorProto (dtype DT_INVALID), which is
    # bad input, not a server fault.
    spec = predict_request(model, {}).SerializeToString()
    entry = b"\x0a\x01x"
    raw_predict = grpc_channel.unary_unary("/tensorflow.serving.PredictionService/Predict",
                                           request_serializer=None, response_deserializer=None)
    expect_rpc_error(raw_predict, spec + b"\x12" + bytes([len(entry)]) + entry, Code.INVALID_ARGUMENT)
