// Makes the libtorch.so that AOTInductor packages link against resolvable in this process.
//
// A package's compiled model (.so) lists libtorch.so and libtorch_cpu.so as dependencies and
// has no RPATH, and this addon links libtorch_cpu only: in the pinned (CUDA) torch wheel,
// libtorch.so depends on libtorch_cuda and the CUDA stack, which a CPU package never calls
// (measured: +0.8 s and +370 MB RSS to load it). Every symbol a CPU package imports lives in
// libtorch_cpu/libc10, so the build provides a soname shim with the soname libtorch.so that only
// depends on libtorch_cpu (build/Release/aoti/libtorch.so, from libtorch_soname/), and the
// dynamic loader then satisfies the package's dependency by soname. It sits in a folder of
// its own so that it never shadows the real libtorch.so for anything else.
#pragma once

#include "common/status.h"

namespace duo::pytorch {

// Loads the shim once (a no-op when some libtorch.so is already loaded). Thread-safe.
Status EnsureLibtorchForPackages();

}  // namespace duo::pytorch
