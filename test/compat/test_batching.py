"""Batching as TF-Serving users configure it (--enable_batching, --batching_parameters_file,
--enable_per_model_batching_parameters), seen with the stock client and plain HTTP.

Two servers of its own, over TF-Serving's padding testdata model matrix_half_plus_two (x float32
[None, 3, 3] -> 0.5 x + 2, test/fixtures/export_tf_serving_testdata.py) and the example models:
- "common": every version batched with one parameters file; a batch_timeout_micros of 100 ms, so
  that requests sent together surely share a batch, padding on, allowed_batch_sizes 2, 4, 8;
- "per model": --enable_per_model_batching_parameters; only versions whose directory holds a
  batching_params.pbtxt are batched, the others are the unbatched references.
The expected arrays are worked out here from TF-Serving's rules (batching_util.cc): each request's
tensor is padded at the end of every dim >= 1 up to the batch's largest, with its own first
element, before the model runs; answers keep the padded shape.
"""
import contextlib
import functools
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc, prediction_service_pb2_grpc

from duoserve_process import REPO, DuoserveProcess, model_config_text
from serving_client import content_tensor, float_val_tensor, predict_request

EXAMPLES = REPO / "var" / "models" / "examples"
MATRIX = REPO / "var" / "models" / "test" / "tf_serving_testdata" / "matrix_half_plus_two"
Code = grpc.StatusCode
State = get_model_status_pb2.ModelVersionStatus
INVALID_ARGUMENT = Code.INVALID_ARGUMENT.value[0]

MAX_BATCH_SIZE = 8
COMMON_PARAMETERS = f"""
max_batch_size {{ value: {MAX_BATCH_SIZE} }}
batch_timeout_micros {{ value: 100000 }}
max_enqueued_batches {{ value: 100 }}
num_batch_threads {{ value: 1 }}
allowed_batch_sizes: 2
allowed_batch_sizes: 4
allowed_batch_sizes: {MAX_BATCH_SIZE}
pad_variable_length_inputs: true
"""
UNPADDED_PARAMETERS = COMMON_PARAMETERS.replace("pad_variable_length_inputs: true", "pad_variable_length_inputs: false")
# The flood model: one batch thread (the per-model server's shared scheduler), one batch of
# FLOOD_ROWS rows at a time, no waiting; each request fills a batch by itself.
FLOOD_ROWS = 8192
FLOOD_PARAMETERS = f"""
max_batch_size {{ value: {FLOOD_ROWS} }}
batch_timeout_micros {{ value: 0 }}
max_enqueued_batches {{ value: 1 }}
"""
# A version that fails to load fails at once (TF-Serving retries 5 times a minute apart by default).
NO_LOAD_RETRIES = ("--max_num_load_retries=0",)
BATCHED_MODELS = [("mlp_tf", "tensorflow"), ("mlp_torch", "pytorch"), ("mlp_pt2", "pytorch")]
CHAIN = [("features", "tensorflow"), ("ranker", "pytorch"), ("features_to_ranker", "chain")]


def copy_with_parameters(source: Path, target: Path, parameters: str | None) -> Path:
    """A model's base path copied, with `parameters` as each version's batching_params.pbtxt."""
    shutil.copytree(source, target)
    if parameters is not None:
        for version in target.iterdir():
            (version / "batching_params.pbtxt").write_text(parameters)
    return target


@contextlib.contextmanager
def batching_server(entries, *, log_name: str, flags: tuple[str, ...], parameters: str):
    """bin/duoserve over `entries` with --enable_batching and `parameters` as its
    --batching_parameters_file, yielded once every model is AVAILABLE."""
    config_dir = Path(tempfile.mkdtemp(prefix="duoserve-batching-"))
    (config_dir / "models.config").write_text(model_config_text(entries))
    (config_dir / "batching.pbtxt").write_text(parameters)
    server = DuoserveProcess.start(config=config_dir / "models.config", log_name=log_name, flags=(
        "--enable_batching", f"--batching_parameters_file={config_dir / 'batching.pbtxt'}", *flags))
    try:
        server.wait_until_available(120)
        yield server
    finally:
        server.stop()
        shutil.rmtree(config_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def common():
    for needed in (MATRIX, *(EXAMPLES / name for name, _ in BATCHED_MODELS + CHAIN)):
        if not needed.exists():
            pytest.fail(f"{needed} is missing; scripts/setup.sh exports it", pytrace=False)
    entries = [("matrix_half_plus_two", MATRIX, "tensorflow"),
               *((name, EXAMPLES / name, platform) for name, platform in BATCHED_MODELS + CHAIN)]
    with batching_server(entries, log_name="batching_common.log", flags=(), parameters=COMMON_PARAMETERS) as server:
        yield server


@pytest.fixture(scope="module")
def per_model():
    """matrix_plain and the *_plain models: no batching_params.pbtxt, so not batched;
    matrix_padded and matrix_versions (the common parameters), matrix_unpadded (padding off) and
    mlp_flood (FLOOD_PARAMETERS): batched."""
    root = Path(tempfile.mkdtemp(prefix="duoserve-per-model-"))
    entries = [
        ("matrix_plain", MATRIX, "tensorflow"),
        ("matrix_padded", copy_with_parameters(MATRIX, root / "matrix_padded", COMMON_PARAMETERS), "tensorflow"),
        ("matrix_versions", copy_with_parameters(MATRIX, root / "matrix_versions", COMMON_PARAMETERS), "tensorflow"),
        ("matrix_unpadded", copy_with_parameters(MATRIX, root / "matrix_unpadded", UNPADDED_PARAMETERS), "tensorflow"),
        ("mlp_flood", copy_with_parameters(EXAMPLES / "mlp_torch", root / "mlp_flood", FLOOD_PARAMETERS), "pytorch"),
        *((f"{name}_plain", EXAMPLES / name, platform) for name, platform in BATCHED_MODELS),
        # The chain's steps by the names its chain.pbtxt calls, unbatched here.
        *((name, EXAMPLES / name, platform) for name, platform in CHAIN),
    ]
    # The shared scheduler takes num_batch_threads from the common file (TF-Serving's
    # CreateBatchScheduler); the per-model files set each queue.
    flags = ("--enable_per_model_batching_parameters", "--file_system_poll_wait_seconds=1", *NO_LOAD_RETRIES)
    try:
        with batching_server(entries, log_name="batching_per_model.log", flags=flags,
                             parameters="num_batch_threads { value: 1 }\n") as server:
            yield server, root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def stub_for(server) -> prediction_service_pb2_grpc.PredictionServiceStub:
    return stub_at(server.grpc_target)


@functools.cache
def stub_at(target: str) -> prediction_service_pb2_grpc.PredictionServiceStub:
    """One channel per server for the whole module (its ports are not reused while it runs)."""
    channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1)])
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


def predict_together(stub, requests_, timeout=30):
    """Sends every request before waiting for any: the server sees them within a batch timeout.
    Returns each one's output array or its grpc.RpcError, in order."""
    calls = [stub.Predict.future(request, timeout=timeout) for request in requests_]
    answers = []
    for call in calls:
        try:
            response = call.result()
            answers.append({alias: tf.make_ndarray(tensor) for alias, tensor in response.outputs.items()})
        except grpc.RpcError as error:
            answers.append(error)
    return answers


def tf_serving_padded(tensor: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """`tensor` padded at the end of each dim >= 1 to `dims` with its first element."""
    widths = [(0, 0)] + [(0, want - have) for want, have in zip(dims, tensor.shape[1:])]
    return np.pad(tensor, widths, constant_values=tensor.flat[0])


def matrix_half_plus_two(x: np.ndarray) -> np.ndarray:
    return (np.float32(0.5) * x + np.float32(2.0)).astype(np.float32)


# Different dims 1 and 2 in one batch: [1, 2, 2], [1, 3, 3], [2, 3, 1] -> every one padded to 3 x 3.
MATRIX_REQUESTS = [
    np.arange(1, 5, dtype=np.float32).reshape(1, 2, 2),
    np.arange(5, 14, dtype=np.float32).reshape(1, 3, 3),
    np.arange(20, 26, dtype=np.float32).reshape(2, 3, 1),
]


def expected_padded_answers(inputs):
    widest = tuple(max(x.shape[d] for x in inputs) for d in (1, 2))
    return [matrix_half_plus_two(tf_serving_padded(x, widest)) for x in inputs]


def test_grpc_requests_of_different_dims_are_padded_as_tf_serving_pads(common):
    # The expectation first, against batching_session_test.cc's BatchingWithPadding: [[1, 2], [3, 4]]
    # beside a 3 x 3 request.
    first, _ = expected_padded_answers(MATRIX_REQUESTS[:2])
    assert first.flatten().tolist() == [2.5, 3, 2.5, 3.5, 4, 2.5, 2.5, 2.5, 2.5]
    stub = stub_for(common)
    answers = predict_together(stub, [
        predict_request("matrix_half_plus_two", {"x": content_tensor(x)}) for x in MATRIX_REQUESTS])
    for answer, expected in zip(answers, expected_padded_answers(MATRIX_REQUESTS)):
        assert not isinstance(answer, grpc.RpcError), answer
        assert answer["y"].shape == expected.shape  # not trimmed back
        np.testing.assert_array_equal(answer["y"], expected)
    # Alone, a request is not padded (allowed_batch_sizes pads its one row to two; that row is dropped).
    x = MATRIX_REQUESTS[0]
    [alone] = predict_together(stub, [predict_request("matrix_half_plus_two", {"x": content_tensor(x)})])
    np.testing.assert_array_equal(alone["y"], matrix_half_plus_two(x))


def test_rest_requests_of_different_dims_are_padded_as_tf_serving_pads(common):
    url = f"{common.rest_url}/v1/models/matrix_half_plus_two:predict"
    with ThreadPoolExecutor(len(MATRIX_REQUESTS)) as pool:
        replies = list(pool.map(lambda x: requests.post(url, json={"instances": x.tolist()}, timeout=30),
                                MATRIX_REQUESTS))
    for reply, expected in zip(replies, expected_padded_answers(MATRIX_REQUESTS)):
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"predictions": expected.tolist()}


def batch_with_witness(seed: int, width: int, row_counts=(1, 2, 1, 3), witness=True):
    """Inputs [rows, width] per row count, then the witness: one row of width / 2, which the model
    can only run padded to `width` in a batch with the others. At most MAX_BATCH_SIZE rows: one
    batch. Returns (inputs, the inputs the unbatched model must get for the same answers)."""
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal((rows, width)).astype(np.float32) for rows in row_counts]
    assert sum(row_counts) + witness <= MAX_BATCH_SIZE
    if not witness:
        return inputs, inputs
    narrow = rng.standard_normal((1, width // 2)).astype(np.float32)
    return [*inputs, narrow], [*inputs, tf_serving_padded(narrow, (width,))]


def unbatched_answers(server, model, inputs, output):
    """One request at a time, so that none can share a batch."""
    answers = [predict_together(stub_for(server), [predict_request(model, {"x": content_tensor(x)})])[0]
               for x in inputs]
    for answer in answers:
        assert not isinstance(answer, grpc.RpcError), answer
    return [answer[output] for answer in answers]


def assert_answers_are_the_batch_run_unbatched(server, model, batched, unbatched_inputs, output, bit_exact=True):
    """Bit for bit, each batched answer is its rows of the unbatched run of every request's rows
    together (the batch, in the order sent); each is also within float32 rounding of the request
    run alone: a matrix product's last bits depend on how many rows it multiplies (the
    framework's kernels block the rows differently), so a row need not come out the same in a
    batch of 8 as alone, in TF-Serving either."""
    [together] = unbatched_answers(server, model, [np.concatenate(unbatched_inputs)], output)
    alone = unbatched_answers(server, model, unbatched_inputs, output)
    start = 0
    for got, x, want_alone in zip(batched, unbatched_inputs, alone):
        assert not isinstance(got, grpc.RpcError), got
        rows = x.shape[0]
        if bit_exact:
            assert got[output].tobytes() == together[start:start + rows].tobytes()
        np.testing.assert_allclose(got[output], want_alone, rtol=1e-4, atol=1e-5)
        start += rows


@pytest.mark.parametrize("model", [name for name, _ in BATCHED_MODELS])
def test_batched_answers_are_the_batch_run_unbatched_bit_for_bit(common, per_model, model):
    # An AOTInductor package checks shapes before its queue (its [-1, 512] refuses the narrow
    # witness): there, bit equality with the batch run as one is what shows the batch.
    pt2 = model.endswith("_pt2")
    inputs, unbatched_inputs = batch_with_witness(11, 512, row_counts=(1, 2, 1, 3, 1) if pt2 else (1, 2, 1, 3),
                                                  witness=not pt2)
    batched = predict_together(stub_for(common), [predict_request(model, {"x": content_tensor(x)}) for x in inputs])
    assert_answers_are_the_batch_run_unbatched(per_model[0], f"{model}_plain", batched, unbatched_inputs, "y")


def test_a_chain_whose_steps_are_batched_answers_as_unbatched(common, per_model):
    # The first step (features) pads the witness; the second (ranker) batches the features.
    inputs, unbatched_inputs = batch_with_witness(12, 32, row_counts=(1, 4, 2))
    batched = predict_together(stub_for(common), [
        predict_request("features_to_ranker", {"x": content_tensor(x)}) for x in inputs])
    assert_answers_are_the_batch_run_unbatched(per_model[0], "features_to_ranker", batched, unbatched_inputs, "score")


def expect_error(answer, code: grpc.StatusCode, message: str) -> None:
    assert isinstance(answer, grpc.RpcError), f"expected {code.name}, got an answer"
    assert (answer.code(), answer.details()) == (code, message)


def test_a_task_larger_than_max_batch_size_is_refused(common):
    x = np.ones((MAX_BATCH_SIZE + 1, 3, 3), np.float32)
    [answer] = predict_together(stub_for(common), [predict_request("matrix_half_plus_two", {"x": content_tensor(x)})])
    expect_error(answer, Code.INVALID_ARGUMENT,
                 f"Task size {MAX_BATCH_SIZE + 1} is larger than maximum input batch size {MAX_BATCH_SIZE}")
    reply = requests.post(f"{common.rest_url}/v1/models/matrix_half_plus_two:predict",
                          json={"instances": x.tolist()}, timeout=30)
    assert reply.status_code == 400
    assert reply.json() == {"error": f"Task size {MAX_BATCH_SIZE + 1} is larger than maximum input batch size "
                                     f"{MAX_BATCH_SIZE}"}


def test_a_scalar_input_is_refused(common):
    [answer] = predict_together(stub_for(common), [
        predict_request("matrix_half_plus_two", {"x": tf.make_tensor_proto(1.0, dtype=tf.float32)})])
    expect_error(answer, Code.INVALID_ARGUMENT, "Batching Run() input tensors must have at least one dimension")


def test_padding_is_refused_above_rank_six(common):
    [answer] = predict_together(stub_for(common), [
        predict_request("matrix_half_plus_two", {"x": float_val_tensor([1.0], [1] * 7)})])
    expect_error(answer, Code.INVALID_ARGUMENT, "Only tensors with rank from 1 to 6 can be padded.")


@pytest.mark.parametrize("model", ["mlp_tf", "mlp_torch"])
def test_a_request_of_the_wrong_dtype_fails_alone(common, per_model, model):
    # TF-Serving would fail the whole batch (its concat needs one dtype); in duoserve the request
    # fails with the status it has unbatched and the others are answered.
    inputs, unbatched_inputs = batch_with_witness(13, 512, row_counts=(1, 2, 1, 2))
    wrong = np.ones((1, 512), np.int64)
    answers = predict_together(stub_for(common), [
        predict_request(model, {"x": tf.make_tensor_proto(x)}) for x in [inputs[0], wrong, *inputs[1:]]])
    [unbatched_wrong] = predict_together(stub_for(per_model[0]), [
        predict_request(f"{model}_plain", {"x": tf.make_tensor_proto(wrong)})])
    assert isinstance(unbatched_wrong, grpc.RpcError)
    expect_error(answers[1], unbatched_wrong.code(), unbatched_wrong.details())
    # Its row still counts in the batch's size (7 rows run, padded to 8): close, not bit for bit.
    assert_answers_are_the_batch_run_unbatched(per_model[0], f"{model}_plain", [answers[0], *answers[2:]],
                                               unbatched_inputs, "y", bit_exact=False)


def test_without_padding_a_request_of_other_dims_fails_alone(per_model):
    # TF-Serving fails the whole batch with this message; duoserve fails the tasks that differ
    # from the first one kept, and runs the others.
    square, small = MATRIX_REQUESTS[1], MATRIX_REQUESTS[0]
    answers = predict_together(stub_for(per_model[0]), [
        predict_request("matrix_unpadded", {"x": content_tensor(x)}) for x in (square, small, square)])
    expect_error(answers[1], Code.FAILED_PRECONDITION,
                 "Tensors with name 'x:0' from different tasks have different shapes and padding is turned off. Set "
                 "pad_variable_length_inputs to true, or ensure that all tensors with the same name have equal "
                 "dimensions starting with the first dim.")
    for answer in (answers[0], answers[2]):
        assert not isinstance(answer, grpc.RpcError), answer
        np.testing.assert_array_equal(answer["y"], matrix_half_plus_two(square))


def test_a_full_queue_sheds_with_unavailable_and_the_server_keeps_serving(per_model):
    server, _ = per_model
    stub = stub_for(server)
    flood = predict_request("mlp_flood", {"x": float_val_tensor([0.5], [FLOOD_ROWS, 512])})
    answers = predict_together(stub, [flood] * 16, timeout=120)
    shed = [a for a in answers if isinstance(a, grpc.RpcError)]
    assert shed, "16 batches of 8192 rows at once with max_enqueued_batches 1: some must be shed"
    for error in shed:
        expect_error(error, Code.UNAVAILABLE,
                     "The batch scheduling queue to which this task was submitted is full; currently 1 batches "
                     "enqueued and max_enqueued_batches is 1")
    assert len(shed) < len(answers), "the first batch runs"
    [after] = predict_together(stub, [predict_request("mlp_flood", {"x": float_val_tensor([0.5], [4, 512])})])
    assert after["y"].shape == (4, 512)


def test_per_model_parameters_batch_only_the_versions_that_have_them(per_model):
    stub = stub_for(per_model[0])
    for model, expected in (("matrix_padded", expected_padded_answers(MATRIX_REQUESTS)),
                            ("matrix_plain", [matrix_half_plus_two(x) for x in MATRIX_REQUESTS])):
        answers = predict_together(stub, [predict_request(model, {"x": content_tensor(x)}) for x in MATRIX_REQUESTS])
        for answer, want in zip(answers, expected):
            assert not isinstance(answer, grpc.RpcError), f"{model}: {answer}"
            np.testing.assert_array_equal(answer["y"], want, err_msg=model)


def model_status(server, model):
    with grpc.insecure_channel(server.grpc_target) as channel:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = model
        statuses = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, timeout=10)
        return {s.version: s for s in statuses.model_version_status}


@pytest.mark.parametrize("version, parameters, message", ids=["allowed_batch_sizes", "unparsable"], argvalues=[
    (2, f"max_batch_size {{ value: {MAX_BATCH_SIZE} }}\nallowed_batch_sizes: 2\nallowed_batch_sizes: 4\n",
     f"Last entry in allowed_batch_sizes must match max_batch_size; last entry was 4; expected {MAX_BATCH_SIZE}"),
    (3, "max_batch_size: 8\n", "Invalid protobuf file: '{file}'"),
])
def test_a_version_with_bad_parameters_fails_to_load_with_tf_servings_message(per_model, version, parameters,
                                                                              message):
    server, root = per_model
    staging = root / f".staging-{version}"
    shutil.copytree(MATRIX / "1", staging)
    (staging / "batching_params.pbtxt").write_text(parameters)
    version_dir = Path(shutil.move(str(staging), str(root / "matrix_versions" / str(version))))
    deadline = time.monotonic() + 30
    while (statuses := model_status(server, "matrix_versions")).get(version, State()).state != State.END:
        assert time.monotonic() < deadline, f"version {version} never ended: {statuses}\n{server.log_tail()}"
        time.sleep(0.2)
    bad = statuses[version].status
    assert bad.error_code == INVALID_ARGUMENT
    assert message.format(file=version_dir / "batching_params.pbtxt") in bad.error_message
    assert statuses[1].state == State.AVAILABLE
    [answer] = predict_together(stub_for(server), [
        predict_request("matrix_versions", {"x": content_tensor(MATRIX_REQUESTS[1])})])
    np.testing.assert_array_equal(answer["y"], matrix_half_plus_two(MATRIX_REQUESTS[1]))


@pytest.mark.parametrize("parameters, message", ids=[
    "num_batch_threads", "allowed_batch_sizes", "batch_timeout_micros", "max_batch_size", "unparsable"], argvalues=[
    ("num_batch_threads { value: 0 }\n", "num_batch_threads must be positive; was 0"),
    ("allowed_batch_sizes: 2\nallowed_batch_sizes: 4\n",
     "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 4; expected 1000"),
    ("batch_timeout_micros { value: -5 }\n", "batch_timeout_micros must be non-negative; was -5"),
    ("max_batch_size { value: 0 }\n", "input_batch_size_limit must be positive; was 0"),
    ("max_batch_size { value: oops }\n", "Invalid protobuf file: '{file}'"),
])
def test_a_bad_parameters_file_stops_the_server_with_tf_servings_message(tmp_path, parameters, message):
    parameters_file = tmp_path / "batching.pbtxt"
    parameters_file.write_text(parameters)
    config = tmp_path / "models.config"
    config.write_text(model_config_text([("matrix_half_plus_two", MATRIX, "tensorflow")]))
    server = DuoserveProcess.start(config=config, log_name="batching_bad_parameters.log", flags=(
        "--enable_batching", f"--batching_parameters_file={parameters_file}", *NO_LOAD_RETRIES))
    try:
        with pytest.raises(RuntimeError, match="exited with code"):
            server.wait_until_available(60)
        assert server.process.returncode != 0
        output = server.log_tail(100_000)
        assert "Failed to start server. Error: " in output, output[-3000:]
        assert message.format(file=parameters_file) in output, output[-3000:]
    finally:
        server.stop()


def test_a_platform_config_files_batching_parameters_batch_its_tensorflow_models(tmp_path):
    # TF-Serving's other way in: SessionBundleConfig.batching_parameters of the tensorflow platform.
    platform_config = tmp_path / "platform.config"
    platform_config.write_text(f"""platform_configs {{
  key: "tensorflow"
  value {{ source_adapter_config {{
    [type.googleapis.com/tensorflow.serving.SavedModelBundleSourceAdapterConfig] {{
      legacy_config {{ batching_parameters {{ {" ".join(COMMON_PARAMETERS.split())} }} }}
    }}
  }} }}
}}
""")
    config = tmp_path / "models.config"
    config.write_text(model_config_text([("matrix_half_plus_two", MATRIX, "tensorflow")]))
    server = DuoserveProcess.start(config=config, log_name="batching_platform_config.log",
                                   flags=(f"--platform_config_file={platform_config}",))
    try:
        server.wait_until_available(60)
        answers = predict_together(stub_for(server), [
            predict_request("matrix_half_plus_two", {"x": content_tensor(x)}) for x in MATRIX_REQUESTS])
        for answer, expected in zip(answers, expected_padded_answers(MATRIX_REQUESTS)):
            assert not isinstance(answer, grpc.RpcError), answer
            np.testing.assert_array_equal(answer["y"], expected)
    finally:
        server.stop()
