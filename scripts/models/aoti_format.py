"""Writing and running an AOTInductor version directory: one model.pt2 from
torch._inductor.aoti_compile_and_package, with its serving signature recorded inside it.

duoserve runs the package's compiled model with the flat list of tensors that torch.export's
call spec gives, named by position: input_0.., output_0... A package records its call spec and
the device it was built for, but not its tensors' dtypes and shapes, which duoserve needs to
check requests (the compiled code does not check them). `save` records them, computed from the
ExportedProgram, as a signature.json document (see pytorch_format.py) under the package
metadata key "duoserve_signature":
  {"inputs":  {"<forward() argument>": {"name": "input_0", "dtype": "DT_FLOAT", "shape": [-1, 4]}},
   "outputs": {"<dict key or output_N>": {"name": "output_0", "dtype": "DT_FLOAT", "shape": [-1, 2]}}}
with -1 for every dynamic dimension (output aliases: `output_names`, or dict keys / output_N).
A signature.json beside the package, if any, overrides it.
"""
import json
from pathlib import Path

import numpy as np
import torch
from torch.export.graph_signature import InputKind, OutputKind, TensorArgument
from torch.utils import _pytree as pytree

MODEL_FILE = "model.pt2"
SIGNATURE_METADATA_KEY = "duoserve_signature"

DTYPE_NAMES = {
    torch.float16: "DT_HALF", torch.bfloat16: "DT_BFLOAT16", torch.float32: "DT_FLOAT",
    torch.float64: "DT_DOUBLE", torch.int8: "DT_INT8", torch.int16: "DT_INT16", torch.int32: "DT_INT32",
    torch.int64: "DT_INT64", torch.uint8: "DT_UINT8", torch.bool: "DT_BOOL",
}


def _tensor_spec(name: str, value: torch.Tensor) -> dict:
    # A dynamic dimension is a SymInt in the traced value: -1 in the signature.
    shape = [size if isinstance(size, int) else -1 for size in value.shape]
    return {"name": name, "dtype": DTYPE_NAMES[value.dtype], "shape": shape}


def output_aliases(out_spec: pytree.TreeSpec) -> list[str]:
    """duoserve's default output names: a leaf under a dict key is named by its key path
    ("probabilities", "stats.mean"), any other leaf by its flat position ("output_0")."""
    structure = pytree.tree_unflatten(list(range(out_spec.num_leaves)), out_spec)
    aliases = []
    for position, (path, _) in enumerate(pytree.tree_flatten_with_path(structure)[0]):
        if path and isinstance(path[0], pytree.MappingKey):
            aliases.append(".".join(str(getattr(key, "key", getattr(key, "idx", key))) for key in path))
        else:
            aliases.append(f"output_{position}")
    return aliases


def signature_of(exported: torch.export.ExportedProgram, output_names: list[str] | None = None) -> dict:
    """The package's signature in signature.json's format; input aliases are forward()'s
    argument names (torch.export's placeholder names), output aliases `output_names` (in flat
    order) or else output_aliases()."""
    nodes = {node.name: node for node in exported.graph.nodes}
    user_inputs = [spec.arg.name for spec in exported.graph_signature.input_specs
                   if spec.kind == InputKind.USER_INPUT and isinstance(spec.arg, TensorArgument)]
    inputs = {name: _tensor_spec(f"input_{k}", nodes[name].meta["val"]) for k, name in enumerate(user_inputs)}

    output_node = next(node for node in exported.graph.nodes if node.op == "output")
    user_outputs = [value for value, spec in zip(output_node.args[0], exported.graph_signature.output_specs)
                    if spec.kind == OutputKind.USER_OUTPUT]
    aliases = output_names or output_aliases(exported.call_spec.out_spec)
    outputs = {alias: _tensor_spec(f"output_{k}", node.meta["val"])
               for k, (alias, node) in enumerate(zip(aliases, user_outputs))}
    return {"inputs": inputs, "outputs": outputs}


def compile_package(exported: torch.export.ExportedProgram, package: Path, output_names: list[str] | None = None) -> None:
    """aoti_compile_and_package, with the signature recorded in the package metadata."""
    signature = json.dumps(signature_of(exported, output_names))
    torch._inductor.aoti_compile_and_package(
        exported, package_path=str(package),
        inductor_configs={"aot_inductor.metadata": {SIGNATURE_METADATA_KEY: signature}})


def save(module: torch.nn.Module, example_args: tuple, dynamic_shapes, version_dir: Path,
         output_names: list[str] | None = None) -> None:
    version_dir.mkdir(parents=True)
    exported = torch.export.export(module.eval(), example_args, dynamic_shapes=dynamic_shapes)
    compile_package(exported, version_dir / MODEL_FILE, output_names)


def run(version_dir: Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Runs the package with libtorch's loader and the flat calling convention, as duoserve
    does; inputs and outputs keyed by signature alias."""
    loader = torch._C._aoti.AOTIModelPackageLoader(str(version_dir / MODEL_FILE), "model", False, 1, -1)
    signature = json.loads(loader.get_metadata()[SIGNATURE_METADATA_KEY])
    position = {spec["name"]: alias for alias, spec in signature["inputs"].items()}
    flat = [torch.from_numpy(inputs[position[f"input_{k}"]]) for k in range(len(position))]
    outputs = loader.run(flat)  # the flat calling convention duoserve uses
    return {alias: outputs[int(spec["name"].removeprefix("output_"))].numpy()
            for alias, spec in signature["outputs"].items()}

