#!/usr/bin/env bash
# Runs every benchmark under scripts/ and prints one table: benchmark, exit status, wall time and
# the figures each printed next to its target. Full outputs land in ${BENCH_OUT:-results/bench}/.
# Usage: scripts/bench_all.sh [quick]   (quick: smaller sizes, for a first look in minutes)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=${BENCH_OUT:-results/bench}
mkdir -p "$out"
if [ "${1:-}" = quick ]; then
    sizes=(validate "--plans 50000 --stream 20000,200000" generate "--instances 11" sampling ""
           extractor "" store "--samples 600000" report "--instances 60 --k 10000" search "--quick"
           ray "--instances 2 --k 4 --max-tokens 16 --repeats 1")
else
    sizes=(validate "" generate "--fast-downward" sampling "--instances 8 --k 16 --max-tokens 64"
           extractor "" store "" report "" search "" ray "")
fi
declare -A args
for ((i = 0; i < ${#sizes[@]}; i += 2)); do args[${sizes[i]}]=${sizes[i+1]}; done
declare -A script=([validate]=bench_validate.py [generate]=bench_generate.py
                   [sampling]=bench_sampling.py [extractor]=eval_extractor.py
                   [store]=bench_store.py [report]=bench_report.py [search]=bench_search.py
                   [ray]=bench_ray.py)
# Lines worth a row: figures next to a target or a ratio, rates, and the extractor's totals.
pattern='target|ratio|plans/s|tokens/s|lines/s|samples/s|rows/s|per scored|overhead|total:|time:|median|instances in|^ +[0-9]+ +(full|partial) '
rows=()
for name in validate generate sampling extractor store report search ray; do
    echo "running ${script[$name]} ${args[$name]}" >&2
    start=$(date +%s)
    # shellcheck disable=SC2086
    PYTHONPATH=. PYTHONUNBUFFERED=1 "$PY" "scripts/${script[$name]}" ${args[$name]} >"$out/$name.txt" 2>&1
    status=$?
    rows+=("$name|$status|$(( $(date +%s) - start ))")
done
printf '\n%-10s %-4s %6s  %s\n' benchmark exit wall_s "figures (full output in $out/)"
for row in "${rows[@]}"; do
    IFS='|' read -r name status seconds <<<"$row"
    first=1
    while IFS= read -r line; do
        if [ $first = 1 ]; then printf '%-10s %-4s %6s  %s\n' "$name" "$status" "$seconds" "$line"
        else printf '%-10s %-4s %6s  %s\n' "" "" "" "$line"; fi
        first=0
    done < <(grep -E "$pattern" "$out/$name.txt" | grep -vE '^(WARNING|INFO|\(|Processed)' | cut -c1-150)
    if [ $first = 1 ]; then
        printf '%-10s %-4s %6s  %s\n' "$name" "$status" "$seconds" "(no figures; see $out/$name.txt)"
    fi
done
