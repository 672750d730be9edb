#!/usr/bin/env bash
# What a person with a GPU runs first (about 10 minutes on one GPU): install, then the GPU path
# that was written by reading vLLM's code and never run on a GPU by its authors. One line per
# check ("ok" or "FAIL", and its figure); everything else goes to the log. Send back the lines
# and the log (gpu_check.log), with `nvidia-smi -L`.
#   MODEL=unsloth/Llama-3.2-1B-Instruct  a small hub chat model whose template writes the BOS
#                                      token (an ungated copy of Meta's; the default on a GPU)
#   PY=path/to/python                 use this Python and skip the install
#   OUT=results/gpu-check             where sets, runs and the log go
# Without a GPU it runs what a CPU can: the CPU default model, text prompts, one Ray replica.
set -uo pipefail
cd "$(dirname "$0")/.."
gpus=$( (nvidia-smi -L 2>/dev/null || true) | grep -c '^GPU' || true)
if [ "$gpus" -gt 0 ]; then
    MODEL=${MODEL:-unsloth/Llama-3.2-1B-Instruct}; form=chat; replicas=$gpus; size=(16 16 256)
else
    MODEL=${MODEL:-gemma-3-270m}; form=text; replicas=1; size=(2 4 32)
fi
OUT=${OUT:-results/gpu-check}
log=$OUT/gpu_check.log
mkdir -p "$OUT" && : > "$log"
failed=0

check() {  # check NAME PATTERN COMMAND...: runs COMMAND into the log; prints its line
    local name=$1 pattern=$2; shift 2
    echo "== $name: $*" >> "$log"
    local output
    output=$("$@" 2>&1); local code=$?
    echo "$output" >> "$log"
    local figure
    figure=$(echo "$output" | tr '\r' '\n' | grep -E "$pattern" | tail -n 3 | tr '\n' ' ')
    if [ $code -eq 0 ]; then echo "ok   $name: $figure"
    else echo "FAIL $name (exit $code): $(echo "$output" | tail -n 1)"; failed=$((failed + 1)); fi
}

if [ -z "${PY:-}" ]; then
    check install "installed|up to date" bash scripts/install.sh
    PY=.venv/bin/python
fi
cli=("$PY" -m planbench_scale.cli)
run=("${cli[@]}" run --instances "$OUT/set" --model "$MODEL" --form "$form" --max-model-len 8192
     --max-tokens "${size[2]}" --stop "[PLAN END]" --shots 1)

check platform "device" "$PY" -c "
from planbench_scale.backends import engine_settings as s
d = s.device(); print('device', d, 'gpus $gpus', 'engine args', s.engine_args(d, False))
assert (d == 'cuda') == ($gpus > 0), 'vLLM platform does not match nvidia-smi'"
rm -rf "$OUT/set" "$OUT"/run-*
check "instance set" "wrote" "${cli[@]}" generate --domain blocksworld --objects 3-4 \
    --steps 2-6 --per-step 1 --out "$OUT/set"
check "run ($form form, $MODEL)" "instances solved" "${run[@]}" --k "${size[1]}" --out "$OUT/run-sample"
check "one BOS ($form form)" "prompt tokens" "$PY" -c "
from planbench_scale.backends import open_backend
from planbench_scale.config import EngineConfig
from planbench_scale.instances import load_instances
from planbench_scale.text.prompts import render
b = open_backend(EngineConfig('vllm', '$MODEL', '$form', engine_args={'max_model_len': 8192}))
ids = b._token_ids(b._prompt_text(render(load_instances('$OUT/set')[0])))
bos = b.llm.get_tokenizer().bos_token_id
print('prompt tokens', len(ids), 'BOS count', ids.count(bos) if bos is not None else 'no BOS')
b.close(); assert bos is None or ids.count(bos) == 1"
check "in-process engine vs bare LLM.generate" "^bare LLM|^planbench_scale run|wall-time ratio" \
    "$PY" scripts/bench_sampling.py \
    --model "$MODEL" --instances "${size[0]}" --k "${size[1]}" --max-tokens "${size[2]}"
check "seeds" "^seeds:" "$PY" scripts/bench_seeds.py --model "$MODEL" --instances "${size[0]}" \
    --k "${size[1]}" --max-tokens "${size[2]}" --engine-arg max_model_len=8192
check "beam over legal steps scored by logprob" "instances solved" "${run[@]}" --strategy beam \
    --propose legal --score logprob --k 4 --beam-width 2 --out "$OUT/run-beam"
check "ray, $replicas replicas" "instances solved" "${run[@]}" --engine ray --replicas "$replicas" \
    --k "${size[1]}" --out "$OUT/run-ray"
echo "$failed checks failed; send back these lines, $log and \`nvidia-smi -L\`"
[ "$failed" -eq 0 ]
