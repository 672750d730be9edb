"""From a RunConfig to a finished run: instances, backend lifecycle, store, progress, interrupts;
and the demo, the main job (generate, run, report in one call).

The CLI only parses options into these calls; scripts and tests call them the same way.
"""

from __future__ import annotations

import itertools
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from planbench_scale import backends, domains, tasks
from planbench_scale.domains import blocksworld
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings, environment
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import (MANIFEST, generalization_set, generate_set, load_instances,
                                      new_folder, write_set)
from planbench_scale.records import Instance
from planbench_scale.store import RunWriter
from planbench_scale.strategies import get as strategy
from planbench_scale.strategies.loop import Progress, run as run_strategy
from planbench_scale.text.prompts import load_template

INTERRUPTED = ("interrupted: the samples stored so far are safe; run the same command again to "
               "continue (run needs --resume, demo resumes by itself)")


def plan_run(settings: Settings, engine: EngineConfig, instances: str | Path,
             limit: int | None = None, resolve=backends.resolve
             ) -> tuple[RunConfig, list[Instance], list[Instance]]:
    """(config, the instances to run, their whole set) for a run, before any model is loaded;
    `resolve` completes the engine config (default: the backend's own, which may connect)."""
    chosen_strategy = strategy(settings.strategy)  # an unknown one is refused before any work
    pool = load_instances(instances)
    chosen = pool[:limit]
    tasks.check_fit(tasks.get(settings.task), chosen_strategy, chosen, settings)
    chosen_strategy.check(settings, chosen)
    for domain in {i.domain for i in chosen}:  # so are templates that cannot be read
        load_template(settings.templates, domain)
    config = RunConfig(settings, resolve(engine),
                       InstanceSource(str(Path(instances).resolve()), limit, len(chosen)),
                       environment())
    return config, chosen, pool


def execute(config: RunConfig, instances: Sequence[Instance], pool: Sequence[Instance],
            out: str | Path, resume: bool = False, show_progress: bool = True,
            backend: backends.Backend | None = None) -> Progress:
    """Run a config into the run folder `out` (created, or resumed), storing every sample;
    `backend` answers (default: the one the config names, opened here when the model is first
    needed and closed at the end; a backend given is the caller's to close).

    Ctrl-C is one clear error; whatever was answered before it is stored.
    """
    if backend is None:  # a backend given to us was checked by whoever opened it
        backends.check_run_folder(config.engine, out)
    with RunWriter(out, config, instances, resume=resume) as writer:
        with _ProgressBar(config.settings, len(instances), show_progress) as bar:
            opened = OnDemand(config.engine, out, bar.waiting) if backend is None else None
            if hasattr(backend, "on_wait"):  # backends that tell of requests in flight
                backend.on_wait = bar.waiting
            try:
                return run_strategy(backend or opened, instances, writer, config.settings, pool,
                                    bar.update)
            except KeyboardInterrupt:
                raise PlanbenchError(INTERRUPTED) from None
            finally:
                if opened is not None:
                    opened.close()


class OnDemand:
    """The backend a config names, opened when the run first needs the model: a run whose
    requests are all answered without one (random-legal, legal steps with a symbolic score, a
    finished run, a search's stored scoring rows) never loads it."""

    def __init__(self, engine: EngineConfig, out: str | Path, on_wait):
        self.engine, self.out, self.on_wait = engine, out, on_wait
        self.model, self.backend, self.logprobs = engine.model, None, False

    def _open(self) -> backends.Backend:
        if self.backend is None:
            self.backend = backends.open_backend(self.engine, self.out)
            if hasattr(self.backend, "on_wait"):  # backends that tell of requests in flight
                self.backend.on_wait = self._waiting
            if self.logprobs:
                self.backend.require_logprobs()
        return self.backend

    def _waiting(self, in_flight: int, seconds: float) -> None:
        if self.on_wait is not None:
            self.on_wait(in_flight, seconds)

    def generate(self, requests, sampling):
        requests = iter(requests)
        first = next(requests, None)
        if first is not None:
            yield from self._open().generate(itertools.chain([first], requests), sampling)

    def score(self, requests):
        requests = list(requests)
        if requests:
            yield from self._open().score(requests)

    def require_logprobs(self) -> None:
        """Checked when the model opens, before its first request: a finished run resumed
        neither loads the model nor probes the server."""
        self.logprobs = True
        if self.backend is not None:
            self.backend.require_logprobs()

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


def with_seeds(runs: Sequence[tuple[str, Settings]], seeds: int) -> list[tuple[str, Settings]]:
    """Each (name, settings) repeated over `seeds` run seeds (the seed, seed + 1, ...) as
    "NAME-seed-S"; unchanged for one seed. The instances stay the same: the spread between
    seeds is the sampling's."""
    if seeds <= 1:
        return list(runs)
    return [(f"{name}-seed-{settings.seed + i}", replace(settings, seed=settings.seed + i))
            for name, settings in runs for i in range(seeds)]


def execute_seeds(config: RunConfig, instances: Sequence[Instance], pool: Sequence[Instance],
                  out: str | Path, seeds: int, resume: bool = False, say=print) -> list[Progress]:
    """`execute` once per seed into OUT/seed-S (one model for all); one seed: into OUT."""
    if seeds <= 1:
        return [execute(config, instances, pool, out, resume)]
    backends.check_run_folder(config.engine, out)
    model_once, done = OnDemand(config.engine, out, on_wait=None), []
    try:
        for _, settings in with_seeds([("run", config.settings)], seeds):
            folder = Path(out) / f"seed-{settings.seed}"
            done.append(execute(replace(config, settings=settings), instances, pool, folder,
                                resume and (folder / "config.json").exists(), backend=model_once))
            say(summary(folder, done[-1]))
    finally:
        model_once.close()
    return done


def seed_summary(progresses: Sequence[Progress]) -> str:
    """The spread of instances solved over seeds: "solved per seed 3, 5, 4 of 9: mean 4.0,
    standard deviation 1.0"."""
    import statistics

    solved = [p.solved for p in progresses]
    spread = statistics.stdev(solved) if len(solved) > 1 else 0.0
    return (f"solved per seed {', '.join(map(str, solved))} of {progresses[0].instances}: "
            f"mean {statistics.mean(solved):.1f}, standard deviation {spread:.1f}")


def summary(out: str | Path, progress: Progress) -> str:
    """The line a finished run prints."""
    return (f"{out}: {progress.samples} new samples, {progress.valid} valid; "
            f"{progress.solved}/{progress.instances} instances solved")


class _ProgressBar:
    """A tqdm bar on stderr: samples, with instances, tokens/s and valid so far."""

    def __init__(self, settings: Settings, instances: int, show: bool):
        from tqdm import tqdm

        total = strategy(settings.strategy).most_samples(settings) * instances
        self.bar = tqdm(total=total, unit="sample", file=sys.stderr, dynamic_ncols=True,
                        disable=not show)

    def update(self, progress: Progress) -> None:
        self.bar.update(progress.samples - self.bar.n)
        rate = progress.tokens / progress.seconds if progress.seconds else 0.0
        self.bar.set_postfix_str(f"instances {progress.finished}/{progress.instances}, "
                                 f"{rate:.0f} tok/s, valid {progress.valid}, "
                                 f"solved {progress.solved}", refresh=False)

    def waiting(self, in_flight: int, seconds: float) -> None:
        """Shown while no answer arrives: how many requests wait, and for how long."""
        self.bar.set_postfix_str(f"{in_flight} requests in flight, waiting {seconds:.0f}s")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def demo_runs(base: Settings, width: int) -> list[tuple[str, Settings]]:
    """The main job's runs, each at the same token budget per instance: repeated sampling,
    revision (2 chains, so that the budget leaves room for rounds), a beam of `width` over
    legal steps ranked by the model's log-probabilities, the no-model control at the beam's
    expansions (`width` random legal walks) and the oracle ceiling (the same beam ranked by the
    exact distance to the goal)."""
    legal = replace(base, strategy="beam", k=width, beam_width=width, propose="legal")
    return [("sample", base),
            ("revise", replace(base, strategy="revise", k=2, rounds=10)),
            ("beam-legal-logprob", replace(legal, score="logprob")),
            ("random-legal", replace(base, strategy="random-legal", k=width)),
            ("beam-legal-distance", replace(legal, score="distance"))]


DEMO_DOMAINS = (*(domain.name for domain in blocksworld.DOMAINS), "logistics")
"""The main job's domains: the Blocksworld family and Logistics."""
DEMO_SETS = {"logistics": ((5, 9), 1)}
"""(objects, instances per step count) of the main job's domains whose sets are not drawn at the
demo's --objects and --per-step: a Logistics problem of 5-9 objects (1-2 cities, a package or
two), one per step count, so that its longer prompts add little to the main job's time."""


def demo(out: str | Path, steps: tuple[int, int], sizes: tuple[int, int], per_step: int,
         runs: Sequence[tuple[str, Settings]], model: str | None, say=print):
    """The main job: a small set in each of DEMO_DOMAINS, one run per (name, settings) in `runs`
    (OUT/run-NAME) sharing one model, and the report of them all; resumes."""
    from planbench_scale.analysis.report import build_report

    out = Path(out)
    sets = out / "instances"
    if not all((sets / name / MANIFEST).exists() for name in DEMO_DOMAINS):
        for name in DEMO_DOMAINS:  # half-written by an interrupted demo: regenerated from the seed
            shutil.rmtree(sets / name, ignore_errors=True)
        for name in DEMO_DOMAINS:
            objects, count = DEMO_SETS.get(name, (sizes, per_step))
            generate_sets([name], objects, steps, count, runs[0][1].seed, False, sets / name, say)
    engine = backends.resolve(EngineConfig("vllm", model))
    backends.check_run_folder(engine, out)
    model_once = OnDemand(engine, out, on_wait=None)
    run_dirs = [out / f"run-{name}" for name, _ in runs]
    try:
        for run_dir, (name, settings) in zip(run_dirs, runs):
            say(f"{name}: {describe(settings)}")
            config, chosen, pool = plan_run(settings, engine, sets, resolve=lambda same: same)
            progress = execute(config, chosen, pool, run_dir, backend=model_once,
                               resume=(run_dir / "config.json").exists())
            say(summary(run_dir, progress))
    except KeyboardInterrupt:
        raise PlanbenchError(INTERRUPTED) from None
    finally:
        model_once.close()
    return build_report(run_dirs, out / "report")


def describe(settings: Settings) -> str:
    """One line saying what a run does."""
    what = {"sample": f"{settings.k} samples", "revise": f"{settings.k} chains of up to "
            f"{settings.rounds} revisions", "random-legal": f"{settings.k} random legal walks "
            "(no model)"}.get(settings.strategy, f"{settings.strategy} of width "
                             f"{settings.beam_width} over {settings.propose} steps, score "
                             f"{settings.score}")
    budget = f", at most {settings.budget_tokens} tokens an instance" if settings.budget_tokens else ""
    return what + budget


def generate_sets(names: Sequence[str], sizes: tuple[int, int], steps: tuple[int, int],
                  per_step: int, seed: int, partial_goals: bool, out: str | Path, say=print,
                  time_limit: float = 20.0, unsolvable: float = 0.0,
                  vocabulary: str | None = None, generalization: bool = False) -> None:
    """One set per domain (DIR/<domain>/ when there are several), the same problems in each,
    spelled in `vocabulary` when one is given; generalization sets (`instances.generalization_set`)
    with `generalization`.

    Every option and folder is checked (and the folders made) before anything is generated;
    folders left empty by a failure are removed."""
    names = list(dict.fromkeys(names))
    folders = {name: Path(out) / name if len(names) > 1 else Path(out) for name in names}
    for name in names:
        domains.get(name).vocabulary(vocabulary, seed)
    made = [folder for folder in folders.values() if not folder.exists()]
    try:
        for folder in folders.values():
            new_folder(folder)
        for name, folder in folders.items():
            say(f"{name}: generating into {folder}")
            def report(message):
                say(f"  {message}")

            instances = generalization_set(name, sizes, steps, per_step, seed, report, time_limit,
                                           vocabulary) if generalization else generate_set(
                name, sizes, steps, per_step, seed, partial_goals, report, time_limit, unsolvable,
                vocabulary)
            write_set(instances, folder)
            impossible = sum(not i.solvable for i in instances)
            say(f"{name}: wrote {len(instances)} instances to {folder}"
                + (f" ({impossible} unsolvable)" if impossible else ""))
    except BaseException:
        for folder in made:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
