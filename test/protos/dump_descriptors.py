"""The official TF-Serving / TensorFlow protos, and the Open Inference Protocol's (KServe v2)
inference.GRPCInferenceService, as the stock Python packages define them (tensorflow-serving-api,
tensorflow, tritonclient).

Tooling for test/protos/wire_compat.test.ts, test/protos/inference_wire_compat.test.ts and
test/config/text_format_official.test.ts.
Prints JSON on stdout:

  describe NAME...           fields and oneofs of each message NAME, values of each enum
                             NAME, methods of each service NAME (with their streaming flags)
  encode-predict             base64 of a PredictRequest built with the stock classes
  encode-classify            {request, context, examples}: base64 of a ClassificationRequest with
                             an ExampleListWithContext, and of its context and examples alone
  merge-examples CTX EX      {merged, parsed}: tf.Example CTX (base64) merged with EX by MergeFrom,
                             and the bytes CTX + EX parsed as one tf.Example, as MessageToDict JSON
  decode NAME BASE64         a NAME message parsed from BASE64, as MessageToDict JSON
  encode-infer               base64 of ModelInferRequests built with tritonclient: {raw}: as its
                             client sends them (raw_input_contents), {typed}: with typed contents
  infer-result BASE64        a ModelInferResponse read by tritonclient's InferResult: each output's
                             datatype, shape and as_numpy() values (BYTES elements in base64)
  text-to-json NAME          stdin parsed by protobuf's text_format as NAME, as MessageToDict JSON
                             (or {"error": ...} when text_format rejects it)
  batch                      stdin: a JSON list of [command, [args...], stdin]; prints the list of
                             their results (one Python start for many commands)
"""
import base64
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from google.protobuf import descriptor_pool, json_format, message_factory, text_format  # noqa: E402
from google.protobuf.descriptor import FieldDescriptor  # noqa: E402

# Importing these registers every file duoserve's proto/ tree mirrors in the default pool.
from tensorflow_serving.apis import (  # noqa: E402,F401
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    input_pb2,
    logging_pb2,
    model_management_pb2,
    model_service_pb2,
    predict_pb2,
    prediction_log_pb2,
    prediction_service_pb2,
    regression_pb2,
)
from tensorflow_serving.config import model_server_config_pb2, platform_config_pb2  # noqa: E402,F401
from tensorflow.core.protobuf import config_pb2  # noqa: E402,F401
from tensorflow.core.example import example_pb2, feature_pb2  # noqa: E402,F401
from tensorflow.core.framework import tensor_pb2, types_pb2  # noqa: E402
from tritonclient.grpc import service_pb2  # noqa: E402,F401  (package inference)

POOL = descriptor_pool.Default()

TYPE_NAMES = {
    value: name[len("TYPE_"):].lower()
    for name, value in vars(FieldDescriptor).items()
    if name.startswith("TYPE_")
}


def field_type(field):
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return {"type": "message", "typeName": field.message_type.full_name}
    if field.type == FieldDescriptor.TYPE_ENUM:
        return {"type": "enum", "typeName": field.enum_type.full_name}
    return {"type": TYPE_NAMES[field.type], "typeName": None}


def is_repeated(field):
    if hasattr(field, "is_repeated"):
        return field.is_repeated
    return field.label == FieldDescriptor.LABEL_REPEATED


def real_oneof(field):
    """The oneof a field belongs to, leaving out proto3 `optional`'s synthetic one."""
    oneof = field.containing_oneof
    if oneof is None:
        return None
    if len(oneof.fields) == 1 and oneof.name == "_" + field.name:
        return None
    return oneof.name


def describe_field(field):
    entry = {
        "number": field.number,
        "name": field.name,
        "repeated": is_repeated(field),
        "oneof": real_oneof(field),
        "packed": bool(getattr(field, "is_packed", False)),
        "map": None,
        **field_type(field),
    }
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        key, value = message_type.fields_by_name["key"], message_type.fields_by_name["value"]
        entry["map"] = {"keyType": field_type(key)["type"], "value": field_type(value)}
    return entry


def describe(name):
    try:
        message = POOL.FindMessageTypeByName(name)
    except KeyError:
        message = None
    if message is not None:
        return "messages", {
            "file": message.file.name,
            "fields": [describe_field(f) for f in message.fields],
        }
    try:
        enum = POOL.FindEnumTypeByName(name)
        return "enums", {"file": enum.file.name, "values": {v.name: v.number for v in enum.values}}
    except KeyError:
        pass
    try:
        service = POOL.FindServiceByName(name)
    except KeyError:
        return "missing", None
    return "services", {
        "file": service.file.name,
        "methods": {
            m.name: {
                "input": m.input_type.full_name,
                "output": m.output_type.full_name,
                "clientStreaming": m.client_streaming,
                "serverStreaming": m.server_streaming,
            }
            for m in service.methods
        },
    }


def message_class(name):
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(name))


def to_json(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def sample_predict_request():
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "half_plus_two"
    request.model_spec.version.value = 3
    request.model_spec.signature_name = "serving_default"
    x = request.inputs["x"]
    x.dtype = types_pb2.DT_FLOAT
    x.tensor_shape.dim.add().size = 2
    x.tensor_shape.dim.add().size = 1
    x.float_val.extend([1.5, -2.0])
    s = request.inputs["s"]
    s.dtype = types_pb2.DT_STRING
    s.tensor_shape.dim.add().size = 2
    s.string_val.extend([b"a", b"\xff\x00"])
    i = request.inputs["i"]
    i.dtype = types_pb2.DT_INT64
    i.tensor_shape.dim.add().size = 1
    i.int64_val.append(2**40 + 1)
    c = request.inputs["c"]
    c.dtype = types_pb2.DT_INT32
    c.tensor_shape.dim.add().size = 2
    c.tensor_content = (7).to_bytes(4, "little") + (-1).to_bytes(4, "little", signed=True)
    request.output_filter.append("y")
    return request


def float_example(**features):
    example = example_pb2.Example()
    for name, values in features.items():
        example.features.feature[name].float_list.value.extend(values)
    return example


def sample_classification_request():
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "iris"
    with_context = request.input.example_list_with_context
    with_context.context.CopyFrom(float_example(sepal_length=[5.1], sepal_width=[3.5]))
    with_context.examples.append(float_example(petal_length=[1.4], petal_width=[0.2]))
    with_context.examples.append(float_example(petal_length=[5.8], petal_width=[2.2], sepal_width=[2.7]))
    return request


def b64(data):
    return base64.b64encode(data).decode()


def merge_examples(context_b64, example_b64):
    context, example = base64.b64decode(context_b64), base64.b64decode(example_b64)
    merged = example_pb2.Example.FromString(context)
    merged.MergeFrom(example_pb2.Example.FromString(example))
    return {"merged": to_json(merged), "parsed": to_json(example_pb2.Example.FromString(context + example))}


def sample_infer_requests():
    """ModelInferRequests as tritonclient writes them: raw contents (its default), and typed contents."""
    import numpy as np
    import tritonclient.grpc as grpcclient
    from tritonclient.grpc._utils import _get_inference_request

    inputs = []
    for name, array, datatype in [
        ("x", np.array([[1.5, -2.0, 3.25]], dtype=np.float32), "FP32"),
        ("n", np.array([2**53 + 1, -(2**62)], dtype=np.int64), "INT64"),
        ("s", np.array([b"a", b"", "\u00e9t\u00e9".encode()], dtype=np.object_), "BYTES"),
        ("b", np.array([True, False], dtype=np.bool_), "BOOL"),
    ]:
        infer_input = grpcclient.InferInput(name, list(array.shape), datatype)
        infer_input.set_data_from_numpy(array)
        inputs.append(infer_input)
    outputs = [grpcclient.InferRequestedOutput("y")]
    raw = _get_inference_request("m", inputs, "2", "req-1", outputs, 0, False, False, 0, None,
                                 {"version_label": "stable", "big": 2**60, "on": True, "ratio": 0.5})
    typed = service_pb2.ModelInferRequest(model_name="m", model_version="")
    for name, datatype, shape, field, values in [
        ("i64", "INT64", [2], "int64_contents", [2**63 - 1, -(2**63)]),
        ("u64", "UINT64", [2], "uint64_contents", [2**64 - 1, 7]),
        ("i8", "INT8", [2], "int_contents", [-128, 127]),
        ("f64", "FP64", [1], "fp64_contents", [0.1]),
        ("bool", "BOOL", [3], "bool_contents", [True, False, True]),
        ("bytes", "BYTES", [2], "bytes_contents", [b"\xff\x00", b"z"]),
    ]:
        tensor = typed.inputs.add(name=name, datatype=datatype, shape=shape)
        getattr(tensor.contents, field).extend(values)
    typed.parameters["u"].uint64_param = 2**64 - 1
    return {"raw": b64(raw.SerializeToString()), "typed": b64(typed.SerializeToString())}


def infer_result(response_b64):
    from tritonclient.grpc import InferResult

    response = service_pb2.ModelInferResponse.FromString(base64.b64decode(response_b64))
    result = InferResult(response)
    outputs = {}
    for output in response.outputs:
        values = result.as_numpy(output.name)
        flat = [b64(v) for v in values.flatten()] if output.datatype == "BYTES" else values.flatten().tolist()
        outputs[output.name] = {"datatype": output.datatype, "shape": list(values.shape), "values": flat}
    return {"model_name": response.model_name, "model_version": response.model_version, "id": response.id,
            "outputs": outputs}


def run(command, args, stdin):
    if command == "describe":
        result = {"messages": {}, "enums": {}, "services": {}, "missing": []}
        for name in args:
            kind, value = describe(name)
            if kind == "missing":
                result["missing"].append(name)
            else:
                result[kind][name] = value
        return result
    if command == "encode-predict":
        return base64.b64encode(sample_predict_request().SerializeToString()).decode()
    if command == "encode-classify":
        request = sample_classification_request()
        with_context = request.input.example_list_with_context
        return {"request": b64(request.SerializeToString()), "context": b64(with_context.context.SerializeToString()),
                "examples": [b64(e.SerializeToString()) for e in with_context.examples]}
    if command == "merge-examples":
        return merge_examples(args[0], args[1])
    if command == "decode":
        message = message_class(args[0])()
        message.ParseFromString(base64.b64decode(args[1]))
        return to_json(message)
    if command == "encode-infer":
        return sample_infer_requests()
    if command == "infer-result":
        return infer_result(args[0])
    if command == "text-to-json":
        message = message_class(args[0])()
        try:
            text_format.Parse(stdin, message)
            return {"message": to_json(message)}
        except text_format.ParseError as error:
            return {"error": str(error)}
    raise SystemExit(f"unknown command {command}")


def main(argv):
    if argv[1] == "batch":
        # stdin: a JSON list of [command, args, stdin] triples; one result per triple.
        result = [run(command, args, stdin) for command, args, stdin in json.load(sys.stdin)]
    else:
        result = run(argv[1], argv[2:], sys.stdin.read() if argv[1] == "text-to-json" else "")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
