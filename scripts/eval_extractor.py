"""Our extractor and validator on PlanBench's stored model answers, side by side with PlanBench.

usage: python scripts/eval_extractor.py [RESPONSES_DIR] [--json] [--disagreements FILE] [--labels FILE]
(regenerate the regression table with --disagreements tests/data/extract_disagreements.jsonl;
run it as `PYTHONPATH=. python scripts/eval_extractor.py` from a checkout, or Python imports the
installed planbench_scale instead of the checkout's)

RESPONSES_DIR (default ../shared/planbench/responses) holds <config>/<model>__<prompt_type>.jsonl.gz
files of answers with PlanBench's own extraction and verdict. Each config is matched to the instance
set of the same name in RESPONSES_DIR/../instances ("random_X" answers are about the X instances,
written in the random_blocksworld config's words) and read with PlanBench's template for it.
Printed per config, model and prompt type: answers, our accuracy, PlanBench's stored accuracy, the
agreement of our verdict with the verdict on PlanBench's LLM translation of the answer (where it
made one), crashes, and the time taken by each stage; then the time to extract a 1 MB answer of
each of a few shapes (many steps, restarted steps with notes, prose, one line, brackets, corrections). --disagreements writes every answer where our
verdict differs from PlanBench's, with the reason, as JSON lines (tests/data keeps that table).

Agreement with PlanBench is a weak check (its own extraction errs often enough that errors cancel),
so the answers in --labels (default tests/data/extract_labels.jsonl: every answer where the two
verdicts differed, and 300 drawn at random where they agreed, each judged by reading) give the
agreement by intent of both verdicts, and the count of answers we call valid that the model did not
intend as a valid plan. For PlanBench's unsolvable_* sets the correct answer is a no-plan claim.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from planbench_scale.errors import PlanbenchError
from planbench_scale.interop.planbench_results import sources
from planbench_scale.text.extract import extract
from planbench_scale.text.prompts import load_template
from planbench_scale.instances import load_instances
from planbench_scale.records import Instance, Outcome
from planbench_scale import domains
from planbench_scale.domains import task_for
from planbench_scale.symbolic.validate import validate_many

DEFAULT_RESPONSES = Path(__file__).resolve().parents[2] / "shared" / "planbench" / "responses"
DEFAULT_LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "extract_labels.jsonl"


def read_answers(responses_dir: Path) -> list[dict]:
    """Every stored answer, one dict per answer, in file order."""
    rows = []
    for path in sorted(responses_dir.glob("*/*.jsonl.gz")):
        with gzip.open(path, "rt") as lines:
            rows += [json.loads(line) for line in lines if line.strip()]
    return rows


def load_sets(configs: set[str], data_dir: Path) -> dict[str, tuple[dict, str]]:
    """config -> ({instance number: Instance}, templates); configs without instances map to ({}, ...)."""
    sets = {}
    for config in sorted(configs):
        folder, templates = sources(config, data_dir)
        instances = {}
        if folder is not None:
            try:  # a set whose instances or templates cannot be read is one note, not an error per answer
                instances = {i.id.rsplit("-", 1)[-1]: i for i in load_instances(folder)}
                for domain in {i.domain for i in instances.values()}:
                    domains.get(domain)
                    load_template(templates, domain)
                    load_template("default", domain)  # the extractor reads words with it too
            except PlanbenchError as error:
                instances = {}
                print(f"note: {config}: {error}", file=sys.stderr)
        sets[config] = (instances, templates)
    return sets


def extract_all(rows: list[dict], sets: dict) -> list[dict]:
    """Our plans for every answer (and for PlanBench's translation where there is one)."""
    results = []
    for row in rows:
        instances, templates = sets[row["config"]]
        instance = instances.get(str(row["instance_id"]))
        result = {"row": row, "instance": instance, "crash": None, "plan": None, "translated": None}
        if instance is not None:
            try:
                extraction = extract(row["raw_response"] or "", instance, templates)
                result["plan"], result["outcome"] = extraction.actions, extraction.outcome
                if row.get("translation"):
                    result["translated"] = extract(row["translation"], instance, templates).actions
            except Exception as error:  # the benchmark counts crashes instead of stopping
                result["crash"] = f"{type(error).__name__}: {error}"
        results.append(result)
    return results


def validate_all(results: list[dict]) -> None:
    """Adds our verdicts, validating each instance's plans in one batch. For an unsolvable
    instance the correct answer is a no-plan claim, and any plan is wrong."""
    by_instance = defaultdict(list)
    for result in results:
        if result["plan"] is None:
            continue
        if not result["instance"].solvable:
            result["valid"] = result["outcome"] == Outcome.NO_PLAN
        else:
            by_instance[result["instance"].id].append(result)
    for group in by_instance.values():
        task = task_for(group[0]["instance"])  # reading grounds only the actions plans name
        plans = [r["plan"] for r in group] + [r["translated"] for r in group if r["translated"] is not None]
        verdicts = iter(validate_many(task, plans))
        for result in group:
            result["valid"] = next(verdicts).valid
        for result in group:
            if result["translated"] is not None:
                result["translation_valid"] = next(verdicts).valid


def summarise(results: list[dict]) -> list[dict]:
    """One summary per config, model and prompt type."""
    groups = defaultdict(list)
    for result in results:
        row = result["row"]
        groups[(row["config"], row["model"], row["prompt_type"])].append(result)
    summaries = []
    for (config, model, prompt_type), group in sorted(groups.items()):
        covered = [r for r in group if r["instance"] is not None]
        judged = [r for r in covered if r["crash"] is None]
        translated = [r for r in judged if "translation_valid" in r]
        agreement = (sum(r["valid"] == r["translation_valid"] for r in translated) / len(translated)
                     if translated else None)
        summaries.append({
            "config": config, "model": model, "prompt_type": prompt_type, "n": len(covered),
            "ours_correct": sum(r["valid"] for r in judged),
            "planbench_correct": sum(bool(r["row"]["planbench_correct"]) for r in covered),
            "agreement_with_translation": agreement, "n_translated": len(translated),
            "crashes": len(covered) - len(judged), "not_covered": len(group) - len(covered)})
    return summaries


def planbench_actions(plan) -> list[str]:
    """PlanBench's stored plan (text or list) as normalised action strings."""
    lines = plan if isinstance(plan, list) else str(plan or "").splitlines()
    return [" ".join(line.lower().split()) for line in lines if line.strip()]


def disagreement_reason(ours: tuple[str, ...], theirs: list[str]) -> str:
    """Why our plan and PlanBench's differ, in a few words."""
    ours = [a.lower() for a in ours]
    if ours == theirs:
        return "same plan: PlanBench's stored verdict differs from our validator's"
    if [a.replace(" from ", " ") for a in theirs] == ours:
        return "PlanBench kept the word 'from' inside its actions"
    if ours and len(theirs) % len(ours) == 0 and theirs == ours * (len(theirs) // len(ours)):
        return "PlanBench read a restated plan more than once"
    if _subsequence(theirs, ours):
        return "PlanBench skipped action lines silently"
    if _subsequence(ours, theirs):
        return "PlanBench took explanation lines as actions"
    if len(ours) == len(theirs):
        return "PlanBench read names or objects differently"
    return "the plans differ"


def _subsequence(short: list[str], long: list[str]) -> bool:
    if len(short) >= len(long):
        return False
    items = iter(long)
    return all(any(a == b for b in items) for a in short)


def disagreements(results: list[dict]) -> list[dict]:
    """Every judged answer where our verdict differs from PlanBench's, with the reason."""
    table = []
    for r in results:
        row = r["row"]
        if r["instance"] is None or r["crash"] is not None or r["valid"] == bool(row["planbench_correct"]):
            continue
        table.append({"config": row["config"], "model": row["model"], "prompt_type": row["prompt_type"],
                      "instance_id": row["instance_id"], "ours_valid": r["valid"],
                      "planbench_valid": bool(row["planbench_correct"]),
                      "reason": disagreement_reason(r["plan"], planbench_actions(row["planbench_plan"])),
                      "ours_plan": list(r["plan"])})
    return table


def read_labels(path: Path) -> dict[tuple, dict]:
    """(config, model, prompt type, instance id) -> label record, from a JSON-lines file."""
    if not path.is_file():
        return {}
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["config"], r["model"], r["prompt_type"], r["instance_id"]): r for r in records}


def intended_correct(label: dict, instance: Instance) -> bool:
    """Whether the answer a reader labelled is correct: a valid plan, or for an unsolvable
    instance the claim that no plan exists."""
    return label["label"] == ("valid" if instance.solvable else "no_plan")


def intent_agreement(results: list[dict], labels: dict[tuple, dict]) -> dict:
    """Agreement of our verdict and PlanBench's with the labels judged by reading (ambiguous
    answers left out), and the answers we call correct that the model did not intend so."""
    ours = theirs = judged = 0
    false_valid = []
    for r in results:
        row = r["row"]
        label = labels.get((row["config"], row["model"], row["prompt_type"], row["instance_id"]))
        if label is None or label["label"] == "ambiguous" or r["instance"] is None or r["crash"]:
            continue
        want = intended_correct(label, r["instance"])
        judged += 1
        ours += r["valid"] == want
        theirs += bool(row["planbench_correct"]) == want
        if r["valid"] and not want:
            false_valid.append(label)
    return {"n_labelled": judged, "ours_agree": ours, "planbench_agree": theirs, "ours_false_valid": false_valid}


def unsolvable_summary(results: list[dict]) -> dict:
    """Answers about unsolvable instances: how many were judged, and how many each side calls correct."""
    judged = [r for r in results if r["instance"] is not None and not r["instance"].solvable and not r["crash"]]
    return {"n": len(judged), "ours_correct": sum(r["valid"] for r in judged),
            "planbench_correct": sum(bool(r["row"]["planbench_correct"]) for r in judged)}


def print_intent(agreement: dict, unsolvable: dict) -> None:
    n = agreement["n_labelled"]
    if n:
        print(f"agreement by intent ({n} answers judged by reading): ours {agreement['ours_agree']} "
              f"({agreement['ours_agree'] / n:.1%}), PlanBench {agreement['planbench_agree']} "
              f"({agreement['planbench_agree'] / n:.1%}); we call correct {len(agreement['ours_false_valid'])} "
              "answer(s) the model did not intend as correct")
    print(f"unsolvable: {unsolvable['n']} answers judged, ours {unsolvable['ours_correct']} correct "
          f"(a no-plan claim), PlanBench {unsolvable['planbench_correct']}")


def print_table(summaries: list[dict], timings: dict[str, float]) -> None:
    print(f"{'config':38} {'model':30} {'prompt':18} {'n':>5} {'ours':>6} {'planbench':>9} "
          f"{'agree(tr)':>9} {'crash':>5}")
    for s in summaries:
        agreement = "" if s["agreement_with_translation"] is None else f"{s['agreement_with_translation']:.3f}"
        note = f"  ({s['not_covered']} answers without instance)" if s["not_covered"] else ""
        print(f"{s['config']:38} {s['model']:30} {s['prompt_type']:18} {s['n']:5} {s['ours_correct']:6} "
              f"{s['planbench_correct']:9} {agreement:>9} {s['crashes']:5}{note}")
    total = {key: sum(s[key] for s in summaries) for key in ("n", "ours_correct", "planbench_correct", "crashes")}
    print(f"total: {total['n']} answers judged, ours {total['ours_correct']} valid, PlanBench "
          f"{total['planbench_correct']} valid, {total['crashes']} crashes")
    print("time: " + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in timings.items()))


LARGE = 1 << 20
LARGE_SHAPES = {
    "numbered steps": lambda step: "".join(f"{i}. {step}\n" for i in range(1, 40000)),
    "restarted steps with notes": lambda step: f"1. **{step}**\n   - **Explanation**: the block is clear.\n" * 20000,
    "prose": lambda step: f"First, I {step}. Then, I {step}. " * 20000,
    "one line": lambda step: f"{step}, then " * 40000,
    "statements and brackets": lambda step: "[PLAN]\n[STATEMENT] (((( [[[[ " * 40000,
    "corrections": lambda step: f"Corrected 1, 2 and 3 steps:\n1. {step}\n" * 30000,
}
"""Shapes of 1 MB answers, from one step of the plan in the prompt's words."""


def large_answers(sets: dict) -> dict[str, float]:
    """Seconds to extract a 1 MB answer of each shape, about the first instance of the first set."""
    from planbench_scale.domains import vocabulary_of
    from planbench_scale.text.prompts import phrase

    instances, templates = next((found, t) for found, t in sets.values() if found)
    instance = next(i for i in instances.values() if i.optimal_plan)
    step = phrase(load_template(templates, instance.domain), vocabulary_of(instance), instance.optimal_plan[0])
    seconds = {}
    for name, shape in LARGE_SHAPES.items():
        text = shape(step)[:LARGE]
        start = time.perf_counter()
        extract(text, instance, templates)
        seconds[name] = time.perf_counter() - start
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("responses_dir", nargs="?", type=Path, default=DEFAULT_RESPONSES)
    parser.add_argument("--json", action="store_true", help="one JSON object per config, model, prompt type")
    parser.add_argument("--disagreements", type=Path, help="write the disagreement table (JSON lines) here")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="answers labelled by reading (JSON lines)")
    args = parser.parse_args(argv)
    timings, start = {}, time.perf_counter()
    rows = read_answers(args.responses_dir)
    timings["reading answers"] = time.perf_counter() - start
    start = time.perf_counter()
    sets = load_sets({row["config"] for row in rows}, args.responses_dir.parent)
    timings["loading instances"] = time.perf_counter() - start
    start = time.perf_counter()
    results = extract_all(rows, sets)
    timings["extraction"] = time.perf_counter() - start
    start = time.perf_counter()
    validate_all(results)
    timings["validation"] = time.perf_counter() - start
    timings["extraction + validation"] = timings["extraction"] + timings["validation"]
    summaries = summarise(results)
    if args.disagreements:
        args.disagreements.write_text("".join(json.dumps(d) + "\n" for d in disagreements(results)))
    agreement, unsolvable = intent_agreement(results, read_labels(args.labels)), unsolvable_summary(results)
    large = large_answers(sets)
    if args.json:
        for summary in summaries:
            print(json.dumps(summary))
        print(json.dumps({"intent": {**agreement, "ours_false_valid": len(agreement["ours_false_valid"])},
                          "unsolvable": unsolvable}))
        print(json.dumps({"timings_s": timings, "large_answers_s": large}), file=sys.stderr)
    else:
        print_table(summaries, timings)
        print_intent(agreement, unsolvable)
        slowest = max(large, key=large.get)
        print(f"1 MB answers ({len(large)} shapes): slowest {large[slowest]:.2f} s ({slowest}), "
              + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in large.items()))


if __name__ == "__main__":
    main()
