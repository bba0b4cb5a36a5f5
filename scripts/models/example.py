"""What the exporter needs to know about one example model."""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

Tensors = dict[str, np.ndarray]


@dataclass(frozen=True)
class ExampleModel:
    # The name clients use: ModelSpec.name, /v1/models/<name>.
    name: str
    # model_platform in models.config: "tensorflow", "pytorch" or "chain".
    platform: str
    # Writes one version directory; the directory does not exist yet.
    export: Callable[[Path], None]
    # Runs an exported version directory in Python with its framework: inputs and outputs
    # keyed by signature alias. reference.json holds what it returns for `sample_inputs`.
    run: Callable[[Path, Tensors], Tensors]
    # Requests for reference.json, keyed by input alias.
    sample_inputs: Callable[[], list[Tensors]]
    # One line for the export log (size, parameter count).
    summary: str = ""
