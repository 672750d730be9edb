"""`planbench-scale batch write | read`: a run through the OpenAI batch format.

`write` takes the options of `run` that say what the run does (not those of a live server) and
writes the requests the run still needs to a batch input file; `read` stores the answers of a
batch output file into the run folder. See `openai_batch` for the format and the checks.
"""

from __future__ import annotations

from pathlib import Path

import click

from planbench_scale import runner
from planbench_scale.cli import options
from planbench_scale.cli.options import say
from planbench_scale.cli.hosted import HOSTED
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances
from planbench_scale.openai_batch import ENGINE, BatchReplies, BatchWriter
from planbench_scale.config import EngineConfig, Sampling, Settings
from planbench_scale.store import read_config, read_instances

LIVE_ONLY = ("engine", "base_url", "api_key_env", "request_timeout", "tensor_parallel_size",
             "replicas", "ray_address", "data_parallel_size", "seeds", *options.ENGINE_ARGS)
"""Options of `run` that `batch write` does not take: those only a live backend uses, and
--seeds (a batch file is one run; write one per seed)."""


def batch_commands(run: click.Command) -> click.Group:
    """The `batch` group; `write` takes `run`'s options (passed in: cli imports this module)."""
    group = click.Group("batch", help="Runs through the OpenAI batch format (half price on "
                        "hosted APIs): write the requests, run them as a batch, read the output.")
    params = [p for p in run.params if p.name not in LIVE_ONLY]
    group.add_command(click.Command(
        "write", callback=_write, params=[*params, click.Argument(
            ["batch_file"], type=click.Path(dir_okay=False, path_type=Path))],
        help="Create the run folder --out (or continue it with --resume) and write the requests "
             "it still needs to BATCH_FILE (new), as OpenAI batch input lines.\n\nExample: "
             "planbench-scale batch write --instances sets/b --model o1 --form chat --k 4 "
             "--omit temperature --omit top_p --out results/o1 o1-in.jsonl"))
    group.add_command(read)
    return group


def _write(batch_file: Path, instances, model, form, out, resume, limit, temperature, top_p,
           max_tokens, stop, **rest) -> None:
    if model is None:
        raise PlanbenchError("batch write needs --model: the model name the batch service runs")
    hosted = {name: rest.pop(name) for name in HOSTED if name in rest}
    engine = EngineConfig(ENGINE, model, form, **hosted)
    settings = Settings(sampling=Sampling(temperature, top_p, max_tokens, stop), **rest)
    config, chosen, pool = runner.plan_run(settings, engine, instances, limit,
                                           resolve=lambda same: same)
    writer = BatchWriter(config, batch_file)
    runner.execute(config, chosen, pool, out, resume, show_progress=False, backend=writer)
    say(f"{batch_file}: {writer.written} requests of {out}; run them as a batch, then: "
         f"planbench-scale batch read {out} OUTPUT_FILE")


@click.command("read")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("batch_output", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def read(run_dir: Path, batch_output: Path) -> None:
    """Store the answers in BATCH_OUTPUT (an OpenAI batch output file) into the batch run in
    RUN_DIR: extracted, validated, checked against the run's requests by custom_id.

    Example: planbench-scale batch read results/o1 o1-out.jsonl
    """
    config = read_config(run_dir)
    if config.engine.engine != ENGINE:
        raise PlanbenchError(f"{run_dir} is not a batch run (engine {config.engine.engine}); "
                             "batch runs are made by `planbench-scale batch write`")
    chosen = read_instances(run_dir)
    source = Path(config.instances.path)
    pool = load_instances(source) if source.exists() else chosen
    replies = BatchReplies(config, batch_output, {i.id for i in chosen})
    progress = runner.execute(config, chosen, pool, run_dir, resume=True, backend=replies)
    say(runner.summary(run_dir, progress))
    if replies.failed:
        say(f"warning: the batch failed {len(replies.failed)} requests (first: "
             f"{replies.failed[0]}); batch write --resume writes them again")
    if progress.finished < progress.instances:
        say(f"{progress.instances - progress.finished} instances want more: write the next "
             "batch with `planbench-scale batch write` and the same options plus --resume")
