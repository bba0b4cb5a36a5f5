"""Writes warmup files for test/servables/warmup with the real TensorFlow and tensorflow-serving-api.

Usage: write_warmup_files.py OUT_DIR

Every file is a TFRecord file written by tf.io.TFRecordWriter, each record a PredictionLog built
with the stock tensorflow_serving.apis classes, for a model with one float input "x" (like
half_plus_two):
  predict            2 predict_log records (3 and 5 floats), model_spec naming another model
  skipped_and_predict  a record with only log_metadata, a predict_streamed_log, a predict_log
  classify           1 classify_log record
  session_run        1 session_run_log record
  bad_input          a good predict_log, then one whose input alias the model does not have
  unparseable        a good predict_log, then bytes that are no PredictionLog
  too_many           1001 predict_log records
and OUT_DIR/manifest.json:
  records:     {file: [base64 of each record]}
  requests:    {file: [base64 of each record's serialized request, or null]}
  descriptor:  {message: {field: number}} of PredictionLog and its log messages, as the stock
               descriptors say, and PredictionLog's log_type oneof members
"""
import base64
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import (  # noqa: E402
    classification_pb2,
    model_pb2,
    predict_pb2,
    prediction_log_pb2,
    session_service_pb2,
)


def predict_request(values, alias="x"):
    return predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name="some_other_name", signature_name="serving_default"),
        inputs={alias: tf.make_tensor_proto(values, dtype=tf.float32)},
    )


def predict_log(request):
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def classify_log():
    request = classification_pb2.ClassificationRequest(model_spec=model_pb2.ModelSpec(name="m"))
    example = request.input.example_list.examples.add()
    example.features.feature["x"].float_list.value.append(1.5)
    return prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=request))


def session_run_log():
    request = session_service_pb2.SessionRunRequest(model_spec=model_pb2.ModelSpec(name="m"), fetch=["y"])
    return prediction_log_pb2.PredictionLog(session_run_log=prediction_log_pb2.SessionRunLog(request=request))


def metadata_only_log():
    log = prediction_log_pb2.PredictionLog()
    log.log_metadata.model_spec.name = "m"
    return log


def predict_streamed_log():
    log = prediction_log_pb2.PredictionLog()
    log.predict_streamed_log.request.add().CopyFrom(predict_request([1.0]))
    return log


def request_of(log):
    kind = log.WhichOneof("log_type")
    if kind is None:
        return None
    requests = getattr(log, kind).request
    if kind == "predict_streamed_log":
        return [base64.b64encode(r.SerializeToString()).decode() for r in requests]
    return base64.b64encode(requests.SerializeToString()).decode()


FILES = {
    "predict": [predict_log(predict_request([1.0, 2.0, 5.0])), predict_log(predict_request([0.0, -2.0, 4.0, 8.0, 0.5]))],
    "skipped_and_predict": [metadata_only_log(), predict_streamed_log(), predict_log(predict_request([3.0]))],
    "classify": [classify_log()],
    "session_run": [session_run_log()],
    "bad_input": [predict_log(predict_request([1.0])), predict_log(predict_request([1.0], alias="wrong"))],
    "unparseable": [predict_log(predict_request([1.0])), b"\xff\xff\xff\xff"],
    "too_many": [predict_log(predict_request([float(i)])) for i in range(1001)],
}


def descriptor():
    messages = [prediction_log_pb2.PredictionLog, prediction_log_pb2.PredictLog, prediction_log_pb2.ClassifyLog,
                prediction_log_pb2.RegressLog, prediction_log_pb2.MultiInferenceLog,
                prediction_log_pb2.SessionRunLog, prediction_log_pb2.PredictStreamedLog]
    fields = {m.DESCRIPTOR.full_name: {f.name: f.number for f in m.DESCRIPTOR.fields} for m in messages}
    log_type = [f.name for f in prediction_log_pb2.PredictionLog.DESCRIPTOR.oneofs_by_name["log_type"].fields]
    return {"fields": fields, "log_type": log_type}


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"records": {}, "requests": {}, "descriptor": descriptor()}
    for name, logs in FILES.items():
        serialized = [log if isinstance(log, bytes) else log.SerializeToString() for log in logs]
        with tf.io.TFRecordWriter(str(out / name)) as writer:
            for record in serialized:
                writer.write(record)
        manifest["records"][name] = [base64.b64encode(record).decode() for record in serialized]
        manifest["requests"][name] = [None if isinstance(log, bytes) else request_of(log) for log in logs]
    (out / "manifest.json").write_text(json.dumps(manifest))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
