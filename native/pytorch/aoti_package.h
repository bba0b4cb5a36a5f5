// What an AOTInductor package (.pt2 from torch._inductor.aoti_compile_and_package) holds, read
// before libtorch's loader gets it: the loader would dlopen a .so built for another CPU, try to
// create a CUDA runner, or run a C++ compiler for a source-only package. Checking first turns
// each of those into an error that names what does not match.
#pragma once
#include <map>
#include <string>

#include "common/status.h"

namespace duo::pytorch {

// The model name torch writes for aoti_compile_and_package (data/aotinductor/<name>/ inside the
// zip); duoserve serves that one model of a package.
inline constexpr const char* kAotiModelName = "model";

// The package's own metadata (<wrapper>_metadata.json: AOTI_DEVICE_KEY, AOTI_PLATFORM,
// AOTI_MACHINE, AOTI_CPU_ISA, AOTI_COMPUTE_CAPABILITY, plus whatever the exporter put in
// inductor_configs["aot_inductor.metadata"]), sorted by key.
using AotiMetadata = std::map<std::string, std::string>;

// Reads `file`'s metadata and checks that this process can run it: a readable zip holding a
// compiled model named "model", built for the CPU, this OS, this machine architecture and an
// instruction set this CPU has. kInvalidArgument for a corrupt or source-only package,
// kFailedPrecondition for one built for another device or CPU. Must run inside CallTorch.
Status InspectAotiPackage(const std::string& file, AotiMetadata* metadata);

}  // namespace duo::pytorch
