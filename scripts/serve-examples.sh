#!/usr/bin/env bash
# Sets up what is missing, then serves the bundled example models:
# gRPC on :8500, REST on :8501 (TF-Serving's usual ports).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bin/duoserve --port=8500 --rest_api_port=8501 --model_config_file=var/models/models.config "$@"
