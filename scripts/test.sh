#!/usr/bin/env bash
# The README's test command: install (or check the install), then run the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest "$@"
