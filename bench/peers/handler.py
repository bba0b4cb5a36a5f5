"""TorchServe handler of the peer benchmark: the same TorchScript MLP duoserve serves.

REST: the same body as duoserve's REST predict, {"instances": rows}, answered {"predictions": rows}.
gRPC: the part "tensor" holds the rows as raw little-endian float32 (what duoserve's gRPC requests carry
as tensor_content), answered the same way; the row width comes from model-config.yaml.
A batch (TorchServe's batching on) runs as one forward over every request's rows.

Written for speed as a TorchServe user would: TorchServe's worker has already parsed the JSON body
(Content-Type application/json); the rows go to float32 through numpy, and the answer goes back as
JSON text with float32's 9 significant digits (the digits duoserve and TF-Serving write, which read
back as the very same float32 values). A dict answer would be re-encoded by TorchServe with
json.dumps(indent=2): the pure-Python encoder, 17-digit doubles, one value a line (5-6 ms a call).
"""

import json
import os

import numpy as np
import torch


class MlpHandler:
    def __init__(self):
        self.model = None
        self.row_width = 0
        self.row_format = ""

    def initialize(self, context):
        options = (context.model_yaml_config or {}).get("handler", {})
        # One budget for the cores: workers x torch_threads (OMP_NUM_THREADS is set to the same).
        torch.set_num_threads(int(options["torch_threads"]))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only settable before the process's first parallel work
            pass
        self.row_width = int(options["row_width"])
        # One row of the answer in one %-format: the model is an MLP, its outputs are finite.
        self.row_format = "[" + ",".join(["%.9g"] * self.row_width) + "]"
        model_dir = context.system_properties["model_dir"]
        serialized = context.manifest["model"]["serializedFile"]
        self.model = torch.jit.load(os.path.join(model_dir, serialized), map_location="cpu").eval()

    def _rows(self, request):
        if "tensor" in request:
            raw = request["tensor"]
            return torch.frombuffer(bytearray(raw), dtype=torch.float32).view(-1, self.row_width), True
        body = request.get("body", request.get("data"))
        if isinstance(body, (bytes, bytearray)):  # a client that sent no application/json
            body = json.loads(body)
        return torch.from_numpy(np.asarray(body["instances"], dtype=np.float32)), False

    def _json_answer(self, rows):
        text = ",".join(self.row_format % tuple(row) for row in rows.tolist())
        return '{"predictions":[' + text + "]}"

    def handle(self, data, context):
        parsed = [self._rows(request) for request in data]
        with torch.inference_mode():
            output = self.model(torch.cat([rows for rows, _ in parsed]))
        answers, start = [], 0
        for index, (rows, raw) in enumerate(parsed):
            part = output[start : start + rows.shape[0]]
            start += rows.shape[0]
            if raw:
                context.set_response_content_type(index, "application/octet-stream")
                answers.append(part.contiguous().numpy().tobytes())
            else:
                # A str goes out as it is (TorchServe re-encodes only dicts and lists).
                context.set_response_content_type(index, "application/json")
                answers.append(self._json_answer(part))
        return answers
