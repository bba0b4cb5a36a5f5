// The TensorFlow addon: loads SavedModels through libtensorflow's C API.
//
// Load options (all optional):
//   tags          comma-separated MetaGraphDef tags; default "serve"
//   config_proto  serialized tensorflow.ConfigProto for the session (thread pools, ...)
//   xla_compilation  "enabled" or "disabled": whether XLA may JIT-compile (jit_compile functions,
//                 auto-clustering). Process-wide in TensorFlow, as tensorflow_model_server sets it
//                 once at startup; absent leaves it as it is.
//   meta_graph_def  "signature_def": keep only the signature_def entries of the MetaGraphDef
//                 that Describe returns (TF-Serving's remove_unused_fields_from_bundle_metagraph:
//                 graph_def alone can be megabytes); absent keeps all of it.
#include <exception>
#include <string>
#include <vector>

#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include "common/addon_kit.h"
#include "common/backend.h"
#include "tensorflow/saved_model.h"
#include "tensorflow/status_conversion.h"
#include "tensorflow/tf_handles.h"

// tensorflow/compiler/jit/flags.h (exported by libtensorflow_cc.so.2; the C API has no
// equivalent: TF_EnableXLACompilation turns on auto-clustering, which is a different thing).
namespace tensorflow {
void DisableXlaCompilation();
void EnableXlaCompilation();
}  // namespace tensorflow

namespace duo::tf {

namespace {

Status ApplyXlaCompilation(const LoadOptions& options) {
  auto found = options.find("xla_compilation");
  if (found == options.end()) return Status::Ok();
  if (found->second == "enabled") {
    tensorflow::EnableXlaCompilation();
  } else if (found->second == "disabled") {
    tensorflow::DisableXlaCompilation();
  } else {
    return Status::Error(Code::kInvalidArgument, "xla_compilation must be \"enabled\" or \"disabled\"");
  }
  return Status::Ok();
}

std::vector<std::string> SplitTags(const LoadOptions& options) {
  std::vector<std::string> tags;
  auto found = options.find("tags");
  const std::string joined = found == options.end() ? "" : found->second;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    std::string tag = joined.substr(start, comma - start);
    const size_t first = tag.find_first_not_of(" \t");
    const size_t last = tag.find_last_not_of(" \t");
    if (first != std::string::npos) tags.push_back(tag.substr(first, last - first + 1));
    start = comma + 1;
  }
  if (tags.empty()) tags.push_back("serve");
  return tags;
}

constexpr protozero::pbf_tag_type kSignatureDefField = 5;  // MetaGraphDef.signature_def

// The map entries of signature_def, re-encoded alone: a MetaGraphDef with nothing else.
std::string SignatureDefsOnly(const std::string& meta_graph_def) {
  std::string kept;
  protozero::pbf_writer writer(kept);
  protozero::pbf_reader reader(meta_graph_def);
  while (reader.next()) {
    if (reader.tag() == kSignatureDefField && reader.wire_type() == protozero::pbf_wire_type::length_delimited) {
      protozero::data_view entry = reader.get_view();
      writer.add_bytes(kSignatureDefField, entry.data(), entry.size());
    } else {
      reader.skip();
    }
  }
  return kept;
}

Status NewSessionOptions(const LoadOptions& options, SessionOptionsPtr* out) {
  SessionOptionsPtr session_options(TF_NewSessionOptions());
  auto config = options.find("config_proto");
  if (config != options.end() && !config->second.empty()) {
    StatusPtr status = NewStatus();
    TF_SetConfig(session_options.get(), config->second.data(), config->second.size(), status.get());
    Status set = FromTfStatus(status.get(), "invalid session ConfigProto");
    if (!set.ok()) return Status::Error(Code::kInvalidArgument, set.message);
  }
  *out = std::move(session_options);
  return Status::Ok();
}

}  // namespace

class TensorFlowBackend : public Backend {
 public:
  Status Load(const std::string& path, const LoadOptions& options, std::shared_ptr<LoadedModel>* out) override {
    try {
      return LoadSavedModel(path, options, out);
    } catch (const std::exception& error) {
      return Status::Error(Code::kInternal, "loading SavedModel from " + path + " failed: " + error.what());
    } catch (...) {
      return Status::Error(Code::kInternal, "loading SavedModel from " + path + " failed");
    }
  }

 private:
  static Status LoadSavedModel(const std::string& path, const LoadOptions& options, std::shared_ptr<LoadedModel>* out) {
    DUO_RETURN_IF_ERROR(ApplyXlaCompilation(options));
    SessionOptionsPtr session_options;
    DUO_RETURN_IF_ERROR(NewSessionOptions(options, &session_options));
    const std::vector<std::string> tags = SplitTags(options);
    std::vector<const char*> tag_pointers;
    tag_pointers.reserve(tags.size());
    for (const std::string& tag : tags) tag_pointers.push_back(tag.c_str());

    GraphPtr graph(TF_NewGraph());
    BufferPtr meta_graph_def(TF_NewBuffer());
    StatusPtr status = NewStatus();
    TF_Session* session = TF_LoadSessionFromSavedModel(session_options.get(), /*run_options=*/nullptr, path.c_str(),
                                                       tag_pointers.data(), static_cast<int>(tag_pointers.size()),
                                                       graph.get(), meta_graph_def.get(), status.get());
    if (TF_GetCode(status.get()) != TF_OK || session == nullptr) {
      if (session != nullptr) {
        StatusPtr ignored = NewStatus();
        TF_DeleteSession(session, ignored.get());
      }
      Status failed = FromTfStatus(status.get(), "loading SavedModel from " + path);
      return failed.ok() ? Status::Error(Code::kInternal, "loading SavedModel from " + path + " returned no session")
                         : failed;
    }
    std::string description(static_cast<const char*>(meta_graph_def->data), meta_graph_def->length);
    auto kept = options.find("meta_graph_def");
    if (kept != options.end() && kept->second == "signature_def") description = SignatureDefsOnly(description);
    *out = std::make_shared<SavedModel>(std::move(graph), session, std::move(description));
    return Status::Ok();
  }
};

}  // namespace duo::tf

DUOSERVE_BACKEND_ADDON(duo::tf::TensorFlowBackend)
