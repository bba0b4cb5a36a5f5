#include "pytorch/torchscript_output_names.h"

#include <cstring>
#include <utility>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

namespace duo::pytorch {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string PositionalName(size_t index) { return "output_" + std::to_string(index); }

std::vector<std::string> PositionalNames(size_t count) {
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) names.push_back(PositionalName(i));
  return names;
}

Status AppendFlattened(const c10::IValue& value, TorchOutputs* named) {
  if (value.isTensor()) {
    named->emplace_back(PositionalName(named->size()), value.toTensor());
    return Status::Ok();
  }
  if (value.isTuple() || value.isList()) {
    for (const c10::IValue& element : value.isTuple() ? value.toTupleRef().elements().vec() : value.toListRef().vec()) {
      DUO_RETURN_IF_ERROR(AppendFlattened(element, named));
    }
    return Status::Ok();
  }
  return Status::Error(Code::kInvalidArgument, "forward() returned a " + value.tagKind() + " as output " +
                                                   std::to_string(named->size()) + "; duoserve serves only Tensors");
}

bool IsTensorLike(const c10::TypePtr& type) {
  if (type->kind() == c10::TypeKind::TensorType) return true;
  auto optional = type->cast<c10::OptionalType>();
  return optional && optional->getElementType()->kind() == c10::TypeKind::TensorType;
}

// Tensors in a (nested) tuple type, or nullopt when it holds anything else.
std::optional<size_t> TupleLeaves(const c10::TupleType& tuple) {
  size_t leaves = 0;
  for (const c10::TypePtr& element : tuple.elements()) {
    if (IsTensorLike(element)) {
      ++leaves;
    } else if (auto inner = element->cast<c10::TupleType>()) {
      std::optional<size_t> more = TupleLeaves(*inner);
      if (!more) return std::nullopt;
      leaves += *more;
    } else {
      return std::nullopt;
    }
  }
  return leaves;
}

// What the graph says about one returned value: nothing returns it (a branch that raises),
// these names, or unknown (and why).
struct Traced {
  enum class Kind { kNever, kKnown, kUnknown } kind;
  std::vector<std::string> names;
  std::string why;

  static Traced Never() { return {Kind::kNever, {}, {}}; }
  static Traced Known(std::vector<std::string> names) { return {Kind::kKnown, std::move(names), {}}; }
  static Traced Unknown(std::string why) { return {Kind::kUnknown, {}, std::move(why)}; }
};

// Method calls nest no deeper than this (TorchScript has no recursion; this bounds a bad file).
constexpr int kMaxCallDepth = 64;

Traced TraceReturned(const Value* value, const char* what, int depth);

Traced TraceGraphReturn(torch::jit::Function* function, const char* what, int depth) {
  torch::jit::GraphFunction* graph_function = function ? torch::jit::tryToGraphFunction(*function) : nullptr;
  if (!graph_function) return Traced::Unknown(std::string("the ") + what + " comes from a call duoserve cannot follow");
  const std::shared_ptr<torch::jit::Graph>& graph = graph_function->graph();
  if (graph->outputs().size() != 1)
    return Traced::Unknown(std::string("the ") + what + " comes from a call of several results");
  return TraceReturned(graph->outputs()[0], what, depth + 1);
}

Traced DictKeys(const Node* node) {
  std::vector<std::string> keys;
  for (size_t i = 0; i + 1 < node->inputs().size(); i += 2) {
    std::optional<c10::IValue> key = torch::jit::toIValue(node->inputs()[i]);
    if (!key || !key->isString())
      return Traced::Unknown("a key of the returned dict is computed, not a string constant");
    for (const std::string& seen : keys) {
      if (seen == key->toStringRef())
        return Traced::Unknown("the returned dict literal repeats the key '" + seen + "'");
    }
    keys.push_back(key->toStringRef());
  }
  return Traced::Known(std::move(keys));
}

// `value` is returned (by the graph or by one block); follows it back to the literal that built it.
Traced TraceReturned(const Value* value, const char* what, int depth) {
  if (depth > kMaxCallDepth)
    return Traced::Unknown(std::string("the ") + what + " comes through calls nested too deep");
  for (const torch::jit::Use& use : value->uses()) {
    if (use.user->kind() != c10::prim::Return) {
      return Traced::Unknown(std::string(use.user->kind().toQualString()) + " uses the " + what +
                             " after it is built, so what it holds may change");
    }
  }
  const Node* node = value->node();
  const c10::Symbol kind = node->kind();
  if (kind == c10::prim::DictConstruct) return DictKeys(node);
  if (kind == c10::prim::ListConstruct) return Traced::Known(PositionalNames(node->inputs().size()));
  if (kind == c10::prim::Uninitialized) return Traced::Never();  // the branch raises
  if (kind == c10::prim::If) {
    Traced merged = Traced::Never();
    for (const torch::jit::Block* block : node->blocks()) {
      Traced branch = TraceReturned(block->outputs()[value->offset()], what, depth);
      if (branch.kind == Traced::Kind::kUnknown) return branch;
      if (branch.kind == Traced::Kind::kNever) continue;
      if (merged.kind == Traced::Kind::kKnown && merged.names != branch.names) {
        return Traced::Unknown(std::string("the branches of an if return ") + (std::strcmp(what, "dict") == 0
                                                                                   ? "dicts of different keys"
                                                                                   : "lists of different lengths"));
      }
      merged = std::move(branch);
    }
    return merged;
  }
  if (kind == c10::prim::CallMethod) {
    auto type = node->inputs()[0]->type()->cast<c10::ClassType>();
    return TraceGraphReturn(type ? type->findMethod(node->s(c10::attr::name)) : nullptr, what, depth);
  }
  if (kind == c10::prim::CallFunction) {
    auto type = node->inputs()[0]->type()->cast<c10::FunctionType>();
    return TraceGraphReturn(type ? type->function() : nullptr, what, depth);
  }
  return Traced::Unknown(std::string("the ") + what + " comes from " + kind.toQualString() + ", not from a literal");
}

StaticOutputs ReadFromSchemaAndGraph(torch::jit::Function& forward) {
  const c10::FunctionSchema& schema = forward.getSchema();
  StaticOutputs outputs;
  if (schema.returns().size() != 1) {
    outputs.type = std::to_string(schema.returns().size()) + " values";
    outputs.unknown_because = "forward() does not return one value";
    return outputs;
  }
  const c10::TypePtr& type = schema.returns()[0].type();
  outputs.type = type->annotation_str();
  const char* what = nullptr;
  if (IsTensorLike(type)) {
    outputs.names = PositionalNames(1);
  } else if (auto tuple = type->cast<c10::TupleType>()) {
    if (std::optional<size_t> leaves = TupleLeaves(*tuple)) {
      outputs.names = PositionalNames(*leaves);
    } else {
      outputs.unknown_because = "the tuple holds something other than Tensors and tuples of Tensors";
    }
  } else if (auto list = type->cast<c10::ListType>(); list && IsTensorLike(list->getElementType())) {
    what = "list";
  } else if (auto dict = type->cast<c10::DictType>();
             dict && dict->getKeyType()->kind() == c10::TypeKind::StringType && IsTensorLike(dict->getValueType())) {
    what = "dict";
  } else {
    outputs.unknown_because = "duoserve serves a Tensor, a tuple or list of Tensors or a Dict[str, Tensor]";
  }
  if (what == nullptr) return outputs;

  torch::jit::GraphFunction* graph_function = torch::jit::tryToGraphFunction(forward);
  if (!graph_function || graph_function->graph()->outputs().size() != 1) {
    outputs.unknown_because = "forward() has no graph to read";
    return outputs;
  }
  Traced traced = TraceReturned(graph_function->graph()->outputs()[0], what, 0);
  if (traced.kind == Traced::Kind::kKnown) {
    outputs.names = std::move(traced.names);
  } else {
    outputs.unknown_because = traced.kind == Traced::Kind::kNever ? "forward() always raises" : traced.why;
  }
  return outputs;
}

}  // namespace

Status NameReturnedTensors(const c10::IValue& result, TorchOutputs* named) {
  if (result.isGenericDict()) {
    for (const auto& entry : result.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) {
        return Status::Error(Code::kInvalidArgument, "forward() returned a dict that is not Dict[str, Tensor]");
      }
      named->emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
    return Status::Ok();
  }
  if (result.isTensor() || result.isTuple() || result.isList()) return AppendFlattened(result, named);
  return Status::Error(Code::kInvalidArgument,
                       "forward() returned a " + result.tagKind() +
                           "; duoserve serves a Tensor, a tuple or list of Tensors or a Dict[str, Tensor]");
}

StaticOutputs ReadStaticOutputs(torch::jit::Function& forward) {
  try {
    return ReadFromSchemaAndGraph(forward);
  } catch (...) {
    // What libtorch says here would quote the model's code; the model still serves.
    StaticOutputs outputs;
    outputs.type = "unknown";
    outputs.unknown_because = "forward()'s graph could not be read";
    return outputs;
  }
}

}  // namespace duo::pytorch
