"""tensorflow_model_server's --model_config_file: a ModelServerConfig in protobuf text format."""
from pathlib import Path


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def model_config_text(models: list[tuple[str, Path, str]]) -> str:
    """`models`: (name, absolute base_path, model_platform) for each model, in order."""
    lines = ["model_config_list {"]
    for name, base_path, platform in models:
        lines += [
            "  config {",
            f"    name: {_quoted(name)}",
            f"    base_path: {_quoted(str(base_path))}",
            f"    model_platform: {_quoted(platform)}",
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"
