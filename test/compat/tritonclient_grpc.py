"""Runs calls through the stock tritonclient.grpc client, for test_v2_grpc.py, in a process of its
own: tritonclient.grpc and the kserve SDK each register the Open Inference Protocol's messages
(package inference) in protobuf's default pool, from differently named files, and one Python
process cannot hold both (protobuf refuses the second as duplicate symbols).

  python tritonclient_grpc.py TARGET < calls.json > results.json

Each call is {"call": NAME, ...}; each result is the answer as JSON, or {"error": {"status",
"message"}} when the client raised. NAME is one of is_server_live, is_server_ready,
get_server_metadata, is_model_ready, get_model_metadata (with model, version), infer (model,
version, parameters, inputs [{name, datatype, shape, values}], outputs [names]: the outputs by
name, {datatype, shape, values}), and stream (requests, a list of infer calls, sent on one
ModelStreamInfer stream: each one's result or error, in the order they came). BYTES values travel
as base64 strings, BF16 as floats.
"""
import base64
import json
import queue
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from google.protobuf import json_format
from tritonclient.utils import InferenceServerException, triton_to_np_dtype


def to_array(datatype, shape, values):
    if datatype == "BYTES":
        return np.array([base64.b64decode(v) for v in values], dtype=np.object_).reshape(shape)
    return np.array(values, dtype=triton_to_np_dtype(datatype)).reshape(shape)


def to_json_values(datatype, array):
    flat = array.flatten()
    if datatype == "BYTES":
        return [base64.b64encode(bytes(v)).decode() for v in flat]
    if datatype == "BF16":
        flat = flat.astype(np.float32)
    return flat.tolist()


def infer_arguments(call):
    inputs = []
    for spec in call["inputs"]:
        infer_input = grpcclient.InferInput(spec["name"], spec["shape"], spec["datatype"])
        infer_input.set_data_from_numpy(to_array(spec["datatype"], spec["shape"], spec["values"]))
        inputs.append(infer_input)
    outputs = [grpcclient.InferRequestedOutput(name) for name in call.get("outputs", [])] or None
    return dict(model_name=call["model"], inputs=inputs, model_version=call.get("version", ""),
                outputs=outputs, request_id=call.get("id", ""), parameters=call.get("parameters"))


def result_json(result):
    response = result.get_response()
    return {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "id": response.id,
        "outputs": {
            output.name: {
                "datatype": output.datatype,
                "shape": list(output.shape),
                "values": to_json_values(output.datatype, result.as_numpy(output.name)),
            }
            for output in response.outputs
        },
    }


def error_json(error):
    return {"error": {"status": error.status(), "message": error.message()}}


def stream(client, calls):
    answers = queue.Queue()
    client.start_stream(callback=lambda result, error: answers.put((result, error)))
    try:
        for call in calls:
            client.async_stream_infer(**infer_arguments(call))
        results = []
        for _ in calls:
            result, error = answers.get(timeout=60)
            results.append(error_json(error) if error else result_json(result))
        return results
    finally:
        client.stop_stream()


def run(client, call):
    name = call["call"]
    if name in ("is_server_live", "is_server_ready"):
        return getattr(client, name)()
    if name == "get_server_metadata":
        return json_format.MessageToDict(client.get_server_metadata(), preserving_proto_field_name=True)
    if name == "is_model_ready":
        return client.is_model_ready(call["model"], call.get("version", ""))
    if name == "get_model_metadata":
        metadata = client.get_model_metadata(call["model"], call.get("version", ""))
        return json_format.MessageToDict(metadata, preserving_proto_field_name=True)
    if name == "infer":
        return result_json(client.infer(**infer_arguments(call), client_timeout=60))
    if name == "stream":
        return stream(client, call["requests"])
    raise SystemExit(f"unknown call {name}")


def main(target):
    results = []
    with grpcclient.InferenceServerClient(target) as client:
        for call in json.load(sys.stdin):
            try:
                results.append(run(client, call))
            except InferenceServerException as error:
                results.append(error_json(error))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
