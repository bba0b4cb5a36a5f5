"""Writing and running a PyTorch version directory: model.pt (TorchScript) + signature.json.

signature.json names the serving signature, since a TorchScript file has none:
  {"inputs":  {"<alias>": {"name": "<forward() argument>", "dtype": "DT_FLOAT", "shape": [-1]}},
   "outputs": {"<alias>": {"name": "<native output name>",  "dtype": "DT_FLOAT", "shape": [-1]}}}
Native output names follow what forward() returns: a Tensor is "output_0", a tuple or list
gives "output_0", "output_1", ... (nested ones flattened), a Dict[str, Tensor] gives its keys
(native/pytorch/torchscript_output_names.h).
"""
import json
import warnings
from pathlib import Path

import numpy as np
import torch

MODEL_FILE = "model.pt"
SIGNATURE_FILE = "signature.json"

# torch marks torch.jit deprecated, but TorchScript is what libtorch's C++ loader reads.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")


def tensor_spec(name: str, shape: list[int], dtype: str = "DT_FLOAT") -> dict:
    return {"name": name, "dtype": dtype, "shape": shape}


def save(module: torch.nn.Module, signature: dict, version_dir: Path) -> None:
    version_dir.mkdir(parents=True)
    torch.jit.script(module.eval()).save(str(version_dir / MODEL_FILE))
    (version_dir / SIGNATURE_FILE).write_text(json.dumps(signature, indent=2) + "\n")


def _named_outputs(result) -> dict[str, torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return {"output_0": result}
    if isinstance(result, (tuple, list)):
        return {f"output_{i}": tensor for i, tensor in enumerate(result)}
    return dict(result)


def run(version_dir: Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    model = torch.jit.load(str(version_dir / MODEL_FILE))
    signature = json.loads((version_dir / SIGNATURE_FILE).read_text())
    arguments = {
        signature["inputs"][alias].get("name", alias): torch.from_numpy(value)
        for alias, value in inputs.items()
    }
    with torch.inference_mode():
        native = _named_outputs(model(**arguments))
    return {alias: native[spec["name"]].numpy() for alias, spec in signature["outputs"].items()}
