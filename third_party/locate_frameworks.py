"""Prints where the pinned packages keep their C/C++ headers and shared libraries.

Run by CMake (third_party/frameworks.cmake) with the project's .venv interpreter, so the
native build links exactly the libraries that the pinned wheels installed. Output is
`KEY=VALUE` lines; nothing here is needed at run time (the addons carry RPATHs).

LiteRT's wheel ships libLiteRt.so but no headers; those come from the crates.io package
pinned in litert-headers/Cargo.toml, fetched here with cargo (a no-op once cached).
"""
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HEADERS_MANIFEST = os.path.join(HERE, "litert-headers", "Cargo.toml")
HEADERS_CRATE = "edgefirst-tflite-sys"
TARGET = "x86_64-unknown-linux-gnu"


def package_dir(name: str) -> str:
    """The installed package's directory, without importing it."""
    return importlib.util.find_spec(name).submodule_search_locations[0]


def litert_headers_dir() -> str:
    cargo = shutil.which("cargo") or os.path.expanduser("~/.cargo/bin/cargo")
    common = ["--manifest-path", HEADERS_MANIFEST, "--locked", "--quiet"]
    subprocess.run([cargo, "fetch", "--target", TARGET, *common], check=True)
    metadata = json.loads(subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--offline", "--filter-platform", TARGET, *common],
        check=True, capture_output=True, text=True).stdout)
    crate = next(p for p in metadata["packages"] if p["name"] == HEADERS_CRATE)
    root = os.path.dirname(crate["manifest_path"])
    with open(os.path.join(root, "litert", "VERSION")) as version_file:
        headers_version = version_file.read().strip().removeprefix("v")
    wheel_version = importlib.metadata.version("ai-edge-litert")
    if headers_version != wheel_version:
        sys.exit(f"LiteRT headers are v{headers_version} but libLiteRt.so is {wheel_version}: "
                 "move the pins in requirements.txt and litert-headers/Cargo.toml together")
    return root


tf_dir = package_dir("tensorflow")
torch_dir = package_dir("torch")

import torch  # noqa: E402  (imported late: only to ask the wheel for its ABI and version)

print(f"TF_INCLUDE_DIR={os.path.join(tf_dir, 'include')}")
print(f"TF_LIB_DIR={tf_dir}")
print(f"TORCH_INCLUDE_DIR={os.path.join(torch_dir, 'include')}")
print(f"TORCH_LIB_DIR={os.path.join(torch_dir, 'lib')}")
print(f"TORCH_CXX11_ABI={int(torch.compiled_with_cxx11_abi())}")
print(f"TORCH_VERSION={torch.__version__}")
print(f"LITERT_INCLUDE_DIR={litert_headers_dir()}")
print(f"LITERT_LIB_DIR={package_dir('ai_edge_litert')}")
