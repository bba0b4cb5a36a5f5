#include "pytorch/aoti_package.h"

#include <sys/utsname.h>

#include <set>
#include <string_view>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

namespace duo::pytorch {
namespace {

const std::string kModelDirectory = std::string("data/aotinductor/") + kAotiModelName + "/";
constexpr std::string_view kAotiPrefix = "data/aotinductor/";

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string Join(const std::set<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

// The zip's table of contents: torch writes every entry under one top-level folder, which
// the reader strips, so names read "data/aotinductor/model/<hash>.wrapper.so".
Status CheckContents(const std::string& file) {
  caffe2::serialize::PyTorchStreamReader reader(file);
  bool has_sources = false;
  bool has_library = false;
  std::set<std::string> other_models;
  bool has_exported_program = false;
  for (const std::string& record : reader.getAllRecords()) {
    if (record.starts_with(kModelDirectory)) {
      has_library = has_library || EndsWith(record, ".so");
      has_sources = has_sources || EndsWith(record, ".cpp");
    } else if (record.starts_with(kAotiPrefix)) {
      std::string_view rest = std::string_view(record).substr(kAotiPrefix.size());
      other_models.insert(std::string(rest.substr(0, rest.find('/'))));
    } else if (record.starts_with("models/")) {
      has_exported_program = true;
    }
  }
  if (has_library) return Status::Ok();
  if (has_sources) {
    return Status::Error(Code::kInvalidArgument,
                         file +
                             " holds C++ sources but no compiled model (exported with "
                             "aot_inductor.package_cpp_only?); duoserve does not run a compiler at "
                             "load: compile it with torch._inductor.aoti_compile_and_package");
  }
  if (!other_models.empty()) {
    return Status::Error(Code::kInvalidArgument, file + " holds no AOTInductor model named '" + kAotiModelName +
                                                     "' (it holds: " + Join(other_models) +
                                                     "); duoserve serves the model aoti_compile_and_package writes");
  }
  return Status::Error(
      Code::kInvalidArgument,
      file + (has_exported_program ? " holds an ExportedProgram (torch.export.save) but no AOTInductor-"
                                     "compiled model; compile it with torch._inductor.aoti_compile_and_package"
                                   : " holds no AOTInductor model (data/aotinductor/model/ is missing)"));
}

// The instruction sets of torch._inductor.cpu_vec_isa (AOTI_CPU_ISA, upper-cased words) and
// whether this CPU has what each needs. The package's kernels use them unconditionally, so
// a CPU without them would die of SIGILL on the first run.
bool CpuHas(std::string_view isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == "AVX2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "AVX512") {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  }
  if (isa == "AVX512_VNNI") return __builtin_cpu_supports("avx512vnni");
  if (isa == "AMX_TILE") return __builtin_cpu_supports("amx-tile");
#endif
  return true;  // other architectures' ISAs are covered by the AOTI_MACHINE check
}

std::string Value(const AotiMetadata& metadata, const std::string& key) {
  auto found = metadata.find(key);
  return found == metadata.end() ? "" : found->second;
}

constexpr const char* kThisPlatform =
#if defined(__linux__)
    "linux";
#elif defined(__APPLE__)
    "darwin";
#else
    "";
#endif

Status CheckRunsHere(const std::string& file, const AotiMetadata& metadata) {
  const std::string device = Value(metadata, "AOTI_DEVICE_KEY");
  if (device != "cpu") {
    std::string capability = Value(metadata, "AOTI_COMPUTE_CAPABILITY");
    return Status::Error(Code::kFailedPrecondition,
                         file + " was compiled for device '" + (device.empty() ? "(none recorded)" : device) + "'" +
                             (capability.empty() ? "" : " (compute capability " + capability + ")") +
                             " (AOTI_DEVICE_KEY); duoserve runs AOTInductor packages on 'cpu' only: "
                             "export and compile the model with CPU tensors");
  }
  const std::string platform = Value(metadata, "AOTI_PLATFORM");
  if (!platform.empty() && platform != kThisPlatform) {
    return Status::Error(
        Code::kFailedPrecondition,
        file + " was compiled for OS '" + platform + "' (AOTI_PLATFORM); this server runs on '" + kThisPlatform + "'");
  }
  const std::string machine = Value(metadata, "AOTI_MACHINE");
  struct utsname host {};
  if (!machine.empty() && uname(&host) == 0 && machine != host.machine) {
    return Status::Error(Code::kFailedPrecondition, file + " was compiled for machine '" + machine +
                                                        "' (AOTI_MACHINE); this server runs on '" + host.machine + "'");
  }
  const std::string isa = Value(metadata, "AOTI_CPU_ISA");
  size_t start = 0;
  while (start < isa.size()) {
    size_t end = isa.find(' ', start);
    if (end == std::string::npos) end = isa.size();
    std::string_view word = std::string_view(isa).substr(start, end - start);
    if (!word.empty() && !CpuHas(word)) {
      return Status::Error(Code::kFailedPrecondition,
                           file + " was compiled for CPUs with " + std::string(word) + " (AOTI_CPU_ISA '" + isa +
                               "'), which this CPU lacks; compile the package on a CPU like this server's");
    }
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace

Status InspectAotiPackage(const std::string& file, AotiMetadata* metadata) {
  DUO_RETURN_IF_ERROR(CheckContents(file));
  for (auto& [key, value] : torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(file, kAotiModelName)) {
    (*metadata)[key] = value;
  }
  return CheckRunsHere(file, *metadata);
}

}  // namespace duo::pytorch
