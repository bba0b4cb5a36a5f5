// How a TorchScript model's outputs are named: at run time, from the value forward() returned,
// and before any run, from forward()'s schema and graph (what GetModelMetadata lists). Both
// live here so that they follow one rule:
//   a Tensor (or Optional[Tensor])          -> "output_0"
//   a tuple or list of Tensors, nested ones -> "output_0" .. "output_{N-1}", depth first
//     flattened
//   a Dict[str, Tensor]                     -> its keys, in the dict's order
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/function.h>
#include <ATen/core/ivalue.h>

#include "common/status.h"
#include "pytorch/named_outputs.h"

namespace duo::pytorch {

// Names every tensor in `result`; kInvalidArgument for anything that is not a Tensor, a
// (nested) tuple or list of Tensors or a Dict[str, Tensor]. Must run inside CallTorch.
Status NameReturnedTensors(const c10::IValue& result, TorchOutputs* named);

// What forward() will return, as far as its graph tells before any run.
struct StaticOutputs {
  std::string type;                               // the return type, as TorchScript spells it
  std::optional<std::vector<std::string>> names;  // what NameReturnedTensors will name
  std::string unknown_because;                    // when `names` is empty: why
};

// Names are static when the type fixes them (Tensor, tuples), or when the graph returns a
// list literal or a dict literal with string-constant keys that nothing touches afterwards,
// also through prim::If (all branches agree; a branch that raises does not count) and
// calls to methods, submodules and functions. Anything else (keys computed, or a dict changed
// after it is built) is unknown, with the reason. A graph it cannot read is unknown too: the
// model still loads. Call inside CallTorch (only allocation can fail it).
StaticOutputs ReadStaticOutputs(torch::jit::Function& forward);

}  // namespace duo::pytorch
