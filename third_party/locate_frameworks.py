"""Prints where the pinned wheels keep their C/C++ headers and shared libraries.

Run by CMake (third_party/frameworks.cmake) with the project's .venv interpreter, so the
native build links exactly the libraries that the pinned wheels installed. Output is
`KEY=VALUE` lines; nothing here is needed at run time (the addons carry RPATHs).
"""
import os
import sysconfig

site = sysconfig.get_paths()["purelib"]
tf_dir = os.path.join(site, "tensorflow")
torch_dir = os.path.join(site, "torch")

import torch  # noqa: E402  (imported late: only to ask the wheel for its ABI and version)

print(f"TF_INCLUDE_DIR={os.path.join(tf_dir, 'include')}")
print(f"TF_LIB_DIR={tf_dir}")
print(f"TORCH_INCLUDE_DIR={os.path.join(torch_dir, 'include')}")
print(f"TORCH_LIB_DIR={os.path.join(torch_dir, 'lib')}")
print(f"TORCH_CXX11_ABI={int(torch.compiled_with_cxx11_abi())}")
print(f"TORCH_VERSION={torch.__version__}")
