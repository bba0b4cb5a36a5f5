#include "pytorch/aoti_libtorch.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <string>

namespace duo::pytorch {
namespace {

constexpr const char* kSoname = "libtorch.so";

// build/Release/aoti/libtorch.so, beside this addon (build/Release/duoserve_pytorch.node).
std::string StandInPath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&EnsureLibtorchForPackages), &info) == 0 || info.dli_fname == nullptr) {
    return "";
  }
  return (std::filesystem::path(info.dli_fname).parent_path() / "aoti" / kSoname).string();
}

Status LoadOnce() {
  if (dlopen(kSoname, RTLD_NOW | RTLD_NOLOAD) != nullptr) return Status::Ok();
  const std::string path = StandInPath();
  if (path.empty()) return Status::Error(Code::kInternal, "cannot locate the pytorch addon to find aoti/libtorch.so");
  // Never closed: packages loaded later keep depending on it.
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
    const char* error = dlerror();
    return Status::Error(Code::kInternal, "cannot load " + path + " (needed by AOTInductor packages; " +
                                              "rebuild with scripts/setup.sh): " + (error ? error : "unknown error"));
  }
  return Status::Ok();
}

}  // namespace

Status EnsureLibtorchForPackages() {
  static std::once_flag once;
  static Status status;
  std::call_once(once, [] { status = LoadOnce(); });
  return status;
}

}  // namespace duo::pytorch
