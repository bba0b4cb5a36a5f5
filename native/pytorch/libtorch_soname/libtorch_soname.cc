// Intentionally empty: this library exists for its soname (libtorch.so) and its dependency on
// libtorch_cpu.so. See native/pytorch/aoti_libtorch.h for why.
