"""Commands that bring in answers made elsewhere (score, import-planbench, import-inspect) and
take our sets out (export-set, export-lm-eval). Option parsing and printing only, over `planbench_scale.interop`."""

from __future__ import annotations

from pathlib import Path

import click

from planbench_scale.cli.options import say


def prompt_options(function):
    """How answers were (or are to be) asked: the prompts' style, shots and templates."""
    for option in reversed([
            click.option("--style", type=click.Choice(["nl", "pddl"]), default="nl",
                         show_default=True, help="The prompt style the answers were asked in."),
            click.option("--shots", type=click.IntRange(0, 1), default=0, show_default=True,
                         help="Solved examples in the prompts the answers were asked with."),
            click.option("--templates", default="default", show_default=True,
                         help='Templates whose words the extractor reads: "default" or '
                         '"planbench:PATH" to a PlanBench YAML.')]):
        function = option(function)
    return function


def report_import(imported) -> None:
    """The lines an import prints: each bad line, then what was stored."""
    for problem in imported.problems:
        say(f"warning: {problem} (line left out)")
    unanswered = f"; {imported.unanswered} instances of the set had no answer" \
        if imported.unanswered else ""
    say(f"{imported.run_dir}: {imported.samples} answers stored, {imported.valid} valid, over "
        f"{imported.instances} instances{unanswered}")


@click.command("score")
@click.argument("answers", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--instances", required=True, type=click.Path(exists=True),
              help="The instance set the answers are about (a set folder or a PlanBench folder).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="The run folder to create.")
@click.option("--model", default=None, help="The model that wrote the answers (default: the "
              "answers' own \"model\" field).")
@prompt_options
def score(answers: Path, instances, out, model, style, shots, templates) -> None:
    """Score answers made by any tool into a new run folder.

    ANSWERS holds JSON lines: instance_id, text, and optionally sample_index, model,
    reasoning, prompt_tokens, completion_tokens, reasoning_tokens, finish_reason, seed, verdict
    (the tool's own, kept beside ours). They are extracted, validated and stored like a run of
    our own. Bad lines are named by line number and left out.

    Example: planbench-scale score answers.jsonl --instances sets/b0 --out results/mine
    """
    from planbench_scale.interop.answers import read_answers_file, score_answers

    report_import(score_answers(lambda: read_answers_file(answers), instances, out,
                                source=str(answers.resolve()), model=model, style=style,
                                shots=shots, templates=templates, on_progress=_every(10_000)))


def _every(count: int):
    """A progress callback saying how many answers are stored, every `count` of them."""
    return lambda stored: say(f"{stored} answers stored") if stored % count == 0 else None


@click.command("import-planbench")
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the runs: OUT/<config>__<model>__<prompt type> (folder names the report tells apart).")
@click.option("--data", "data_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder with PlanBench's instances/<config>/ and configs/<config>.yaml "
              "(default: the folder above RESULTS_DIR, as in PlanBench's repository).")
def import_planbench_command(results_dir: Path, out: Path, data_dir) -> None:
    """PlanBench's published results as run folders, one per model and prompt type.

    RESULTS_DIR holds <config>/<model>/task_1_plan_generation*.json (`llm_planning_analysis/results`
    in PlanBench's repository). The answers are re-scored by our extractor and validator,
    PlanBench's own verdict kept beside ours.

    Example: planbench-scale import-planbench LLMs-Planning/llm_planning_analysis/results --out results/planbench
    """
    from planbench_scale.interop.planbench_results import import_planbench

    for imported in import_planbench(results_dir, out, data_dir, say=say):
        report_import(imported)


@click.command("import-inspect")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--instances", required=True, type=click.Path(exists=True),
              help="The instance set the eval ran on (sample ids are its instance ids).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The run folder to create.")
@prompt_options
def import_inspect_command(log: Path, instances, out, style, shots, templates) -> None:
    """An inspect_ai eval log (.eval or .json) as a run folder.

    Each sample is one answer (its id the instance, its epoch the sample index), re-scored by
    our extractor and validator; its first scorer's value is kept as the imported verdict.

    Example: planbench-scale import-inspect logs/2026-...eval --instances sets/b0 --out results/inspect
    """
    from planbench_scale.interop.inspect_log import import_inspect

    report_import(import_inspect(log, instances, out, style, shots, templates))


@click.command("export-set")
@click.argument("instances", type=click.Path(exists=True))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@prompt_options
def export_set_command(instances, out: Path, style, shots, templates) -> None:
    """Write an instance set as a Hugging Face dataset folder.

    OUT gets one Parquet file of INSTANCES (id, domain, vocabulary, sizes, optimal plan, domain
    and problem PDDL, prompt, the Instance record) and a dataset card, loadable with
    `datasets.load_dataset("parquet", data_files=...)`.

    Example: planbench-scale export-set sets/b0 hf/b0 --shots 1
    """
    from planbench_scale.interop.hf_dataset import DATA_FILE, export_set

    folder = export_set(instances, out, style, shots, templates)
    say(f"{folder}: {DATA_FILE} and README.md (the dataset card)")


@click.command("export-lm-eval")
@click.argument("instances", type=click.Path(exists=True))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--task", default=None, help="The task's name (default: planbench_scale_<set folder>).")
@click.option("--k", default=1, show_default=True, type=click.IntRange(1),
              help="Answers per instance (lm-eval's repeats); pass_at_k is over them.")
@click.option("--temperature", default=0.0, show_default=True, type=click.FloatRange(0))
@click.option("--max-tokens", default=512, show_default=True, type=click.IntRange(1))
@click.option("--stop", multiple=True, default=("[PLAN END]",), show_default=True,
              help="A string that ends an answer (repeatable).")
@prompt_options
def export_lm_eval_command(instances, out: Path, task, k, temperature, max_tokens, stop, style,
                           shots, templates) -> None:
    """Write an lm-evaluation-harness task folder for an instance set.

    OUT gets INSTANCES as a dataset, a YAML task and a process_results hook that calls our
    scorer (metrics valid and pass_at_k over --k answers an instance).

    Example: planbench-scale export-lm-eval sets/b0 lm/b0 --shots 1 && lm_eval --include_path
    lm/b0 --tasks planbench_scale_b0 --model local-completions --model_args
    model=NAME,base_url=http://127.0.0.1:8000/v1/completions
    """
    from planbench_scale.interop.lm_eval_task import export_lm_eval

    yaml = export_lm_eval(instances, out, task, k, temperature, max_tokens, stop, style, shots,
                          templates)
    say(f"{yaml}: run it with lm_eval --include_path {out} --tasks {yaml.stem} --model ...")


COMMANDS = [score, import_planbench_command, import_inspect_command, export_set_command,
            export_lm_eval_command]
"""The commands of this module, in the order `--help` lists them."""
