#!/usr/bin/env python3
"""Exports the example models and the test fixtures with the real frameworks (run by setup.sh).

    .venv/bin/python scripts/export_models.py --out var/models

writes
    <out>/examples/<model>/1/          one version per example: a SavedModel (saved_model.pb +
                                       variables/), a PyTorch model.pt + signature.json, or a
                                       chain.pbtxt (model_platform "chain")
    <out>/examples/reference.json      sample inputs and what the frameworks compute for them,
                                       read back from the exported files (test/compat uses it)
    <out>/models.config                a --model_config_file serving every example
    <out>/test/tensorflow, <out>/test/pytorch, <out>/test/aoti
                                       fixtures of test/fixtures/export_*_fixtures.py
    <out>/test/tensorflow_examples              fixtures of test/fixtures/export_tf_example_models.py
    <out>/test/tf_serving_testdata              models shaped like TF-Serving's testdata
                                                (test/fixtures/export_tf_serving_testdata.py)

Idempotent: each example is written beside its final place and then swapped in, so a rerun (or
a crash halfway) never leaves a half-written version where a server would load it.
"""
import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROCESS_STARTED = time.perf_counter()
# No __pycache__ under scripts/models: setup.sh hashes that folder to decide when to rerun this.
sys.dont_write_bytecode = True
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the log

# torch.export imports triton (torch._dynamo checks for it) and triton's LLVM cannot share a
# process with TensorFlow's: LLVM aborts with "Option ... registered more than once". Nothing
# here runs on a GPU, so torch is told triton is absent (fixture exporters run in their own
# processes and import one framework each).
sys.modules["triton"] = None
logging.getLogger("torch.utils.flop_counter").setLevel(logging.ERROR)  # "triton not found" noise

import numpy as np  # noqa: E402

from models.example import ExampleModel  # noqa: E402  (numpy only; the frameworks come later)
from models.model_config import model_config_text  # noqa: E402

VERSION = "1"
REPO = Path(__file__).resolve().parent.parent

# Fixture exporters owned by the framework engineers; each takes its output directory.
# They run as subprocesses, concurrently with the examples (each imports only its framework).
FIXTURE_EXPORTERS = [
    (REPO / "test/fixtures/export_tf_fixtures.py", "test/tensorflow"),
    (REPO / "test/fixtures/export_tf_example_models.py", "test/tensorflow_examples"),
    (REPO / "test/fixtures/export_torch_fixtures.py", "test/pytorch"),
    (REPO / "test/fixtures/export_aoti_fixtures.py", "test/aoti"),
    (REPO / "test/fixtures/export_tf_serving_testdata.py", "test/tf_serving_testdata"),
    (REPO / "test/fixtures/export_tflite_fixtures.py", "test/tflite"),
]


def examples() -> list[ExampleModel]:
    # Imported here, after the fixture exporters have started: importing the frameworks is
    # most of the run time, and the subprocesses import theirs meanwhile.
    from models import half_plus_two, iris, mlp, ranking
    return [*half_plus_two.EXAMPLES, *mlp.EXAMPLES, *iris.EXAMPLES, *ranking.EXAMPLES, *ranking.CHAINS]


DTYPE_NAMES = {np.dtype(np.float32): "DT_FLOAT", np.dtype(np.float64): "DT_DOUBLE",
               np.dtype(np.int32): "DT_INT32", np.dtype(np.int64): "DT_INT64"}


def log(message: str) -> None:
    print(f"[export_models] {message}", flush=True)


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def tensor_json(value: np.ndarray) -> dict:
    return {"dtype": DTYPE_NAMES[value.dtype], "shape": list(value.shape),
            "values": value.reshape(-1).tolist()}


def export_example(example: ExampleModel, examples_dir: Path) -> dict:
    """Writes the example's version directory and returns its reference.json entry."""
    started = time.perf_counter()
    staging = examples_dir / ".staging" / example.name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    example.export(staging / VERSION)
    exported = time.perf_counter()

    cases = []
    for inputs in example.sample_inputs():
        outputs = example.run(staging / VERSION, inputs)
        cases.append({"inputs": {k: tensor_json(v) for k, v in inputs.items()},
                      "outputs": {k: tensor_json(v) for k, v in outputs.items()}})
    checked = time.perf_counter()

    final = examples_dir / example.name
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    log(f"{example.name:<20} {example.platform:<10} export {exported - started:5.2f}s  "
        f"reference {checked - exported:5.2f}s  {size_of(final) / 1e6:7.3f} MB  ({example.summary})")
    return {"platform": example.platform, "cases": cases}


def start_fixture_exporters(out: Path) -> list[tuple[str, subprocess.Popen, float]]:
    running = []
    for script, subdir in FIXTURE_EXPORTERS:
        target = out / subdir
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        process = subprocess.Popen([sys.executable, str(script), str(target)], cwd=REPO)
        running.append((str(script.relative_to(REPO)), process, time.perf_counter()))
    return running


def wait_fixture_exporters(running) -> bool:
    ok = True
    for name, process, started in running:
        code = process.wait()
        log(f"fixtures: {name} exited {code} after {time.perf_counter() - started:.2f}s")
        ok = ok and code == 0
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory (e.g. var/models)")
    out = parser.parse_args().out.resolve()
    examples_dir = out / "examples"
    examples_dir.mkdir(parents=True, exist_ok=True)

    fixtures = start_fixture_exporters(out)
    started = time.perf_counter()
    models = examples()
    log(f"frameworks imported in {time.perf_counter() - started:.2f}s")
    reference = {example.name: export_example(example, examples_dir) for example in models}
    shutil.rmtree(examples_dir / ".staging", ignore_errors=True)
    (examples_dir / "reference.json").write_text(json.dumps(reference) + "\n")
    (out / "models.config").write_text(
        model_config_text([(e.name, examples_dir / e.name, e.platform) for e in models]))
    fixtures_ok = wait_fixture_exporters(fixtures)

    log(f"wrote {out / 'models.config'} and {examples_dir / 'reference.json'}; "
        f"{time.perf_counter() - PROCESS_STARTED:.2f}s in all")
    return 0 if fixtures_ok else 1


if __name__ == "__main__":
    sys.exit(main())
