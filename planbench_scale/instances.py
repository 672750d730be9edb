"""Instance sets: generating one in any registered domain, manifests, PlanBench folders, and
resolving an --instance reference.

A set folder holds one domain PDDL file per vocabulary, one problem file per instance and
`manifest.jsonl` (one Instance record a line, with its optimal plan in PDDL). An imported set
(`import_set`: a STRIPS domain and its problem files) holds its domain too (domain.pddl, and
`<name>.yaml` if it came with a template), so it is a data-only domain's folder as well. PlanBench config
folders load directly (read by the domain family they belong to) and are cached on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, replace
from pathlib import Path

from planbench_scale import cache_dir, domains
from planbench_scale.domains import pddl_import
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Instance, instance_from_dict
from planbench_scale.symbolic import fast_downward, pddl
from planbench_scale.symbolic.astar import SearchLimit
from planbench_scale.text import wording
from planbench_scale.text.prompts import natural_key

MANIFEST = "manifest.jsonl"
CACHE_VERSION = 4
"""Bump when the records a PlanBench import produces change, so that old cache entries go unused."""


def generate_set(domain: str, sizes: tuple[int, int] = (3, 20), steps: tuple[int, int] = (2, 40),
                 per_step: int = 20, seed: int = 0, partial_goals: bool = False,
                 progress: domains.Progress | None = None, time_limit: float = 20.0,
                 unsolvable: float = 0.0, vocabulary: str | None = None) -> list[Instance]:
    """A set stratified by optimal plan length in the domain called `domain` (see Domain.generate),
    with a fraction `unsolvable` (0 <= f < 1) of the whole set made of instances whose goal no
    state satisfies (see Domain.unsolvable), listed after the solvable ones; spelled in
    `vocabulary` (any the domain has, such as "randomized:SEED") instead of its default."""
    if not 0 <= unsolvable < 1:
        raise PlanbenchError(f"the unsolvable fraction must be at least 0 and below 1, not {unsolvable}")

    def made() -> list[Instance]:
        solvable = domains.get(domain).generate(sizes, steps, per_step, seed, partial_goals,
                                                progress, time_limit)
        count = round(len(solvable) * unsolvable / (1 - unsolvable))
        return solvable + domains.get(domain).unsolvable(sizes, count, seed)

    return _spelled(domain, vocabulary, made)


def generalization_set(domain: str, sizes: tuple[int, int] = (3, 20), steps: tuple[int, int] = (2, 40),
                       per_step: int = 20, seed: int = 0, progress: domains.Progress | None = None,
                       time_limit: float = 20.0, vocabulary: str | None = None) -> list[Instance]:
    """A generalization set of the domain called `domain` (PlanBench's t5: instances whose plans
    share one pattern, see Patterned.generalization), spelled in `vocabulary` instead of its
    default; a domain without a generalization generator is refused by name."""
    family = domains.get(domain)
    if not hasattr(family, "generalization"):
        with_one = ", ".join(n for n, d in domains.DOMAINS.items() if hasattr(d, "generalization"))
        raise PlanbenchError(f"domain {domain} has no generalization generator (domains with one: "
                             f"{with_one})")
    return _spelled(domain, vocabulary,
                    lambda: family.generalization(sizes, steps, per_step, seed, progress, time_limit))


def _spelled(domain: str, vocabulary: str | None, made) -> list[Instance]:
    """The instances `made()` gives, spelled in `vocabulary` (None: the domain's default); an
    unknown vocabulary fails before `made` searches anything."""
    if vocabulary is None:
        return made()
    domains.get(domain).vocabulary(vocabulary)
    return [replace(i, vocabulary=vocabulary) for i in made()]


def new_folder(out: str | Path) -> Path:
    """`out` created as an empty folder for a set (a new or empty one), or why it cannot be."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PlanbenchError(f"{out}: exists and is not an empty folder; choose a new one")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PlanbenchError(f"{out}: cannot create the folder ({error.strerror or error})") from None
    return out


def write_set(instances: list[Instance], out_dir: str | Path) -> Path:
    """Write domain PDDL (one per vocabulary), one problem PDDL per instance and manifest.jsonl."""
    out = new_folder(out_dir)
    _write_or_say(instances, out)
    return out


def _write_or_say(instances: list[Instance], out: Path) -> None:
    try:
        _write_files(instances, out)
    except OSError as error:
        raise PlanbenchError(f"cannot write the set: {error.strerror or error}", str(out)) from None


def import_set(domain_file: str | Path, problems: str | Path, out_dir: str | Path,
               name: str | None = None, templates: str | Path | None = None,
               time_limit: float = 60.0, memory_limit_mb: int = 2048,
               progress: domains.Progress | None = None) -> tuple[Path, list[Instance]]:
    """A set of a STRIPS domain file and the problem files (*.pddl) of a folder, written to
    `out_dir` with the domain (untyped, as domain.pddl) and its prompt template (`templates`, in
    PlanBench's config format, as `<name>.yaml`; without it the default wording); the domain is
    called `name` (default: its PDDL name). Optimal plans come from Fast Downward within
    `time_limit` seconds and `memory_limit_mb` MiB a problem: one it cannot solve in the bound
    is skipped (and said), one it proves unsolvable is marked so."""
    problem_files = _problem_files(Path(domain_file), Path(problems))
    read = pddl_import.read(domain_file)
    name = (name or read.name).lower()
    text = pddl_import.untyped_domain(read, str(domain_file))
    template = wording.template_file(templates, text) if templates is not None else None
    out = new_folder(out_dir)
    (out / "domain.pddl").write_text(text)
    if template is not None:
        (out / f"{name}.yaml").write_text(template)
    domain = domains.register(name, out)
    instances = [_solved(domain, pddl_import.instance(name, Path(domain_file), file), time_limit,
                         memory_limit_mb, progress) for file in problem_files]
    instances = [i for i in instances if i is not None]
    _write_or_say(instances, out)
    return out, instances


def _problem_files(domain_file: Path, folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise PlanbenchError(f"--problems {folder}: not a folder of problem files")
    files = sorted((p for p in folder.glob("*.pddl") if p.resolve() != domain_file.resolve()
                    and "domain" not in p.name.lower()), key=lambda p: natural_key(p.name))
    if not files:
        raise PlanbenchError(f"--problems {folder}: no problem files (*.pddl) in it")
    return files


def _solved(domain, instance: Instance, time_limit: float, memory_limit_mb: int,
            progress) -> Instance | None:
    """The instance with its optimal plan from Fast Downward, unsolvable, or None past the bound."""
    say = progress or (lambda message: None)
    vocab = domain.vocabulary()
    try:
        plan = fast_downward.optimal_plan(domain.domain_pddl(vocab), pddl.problem_pddl(
            instance.id, vocab, instance), time_limit, memory_limit_mb)
    except fast_downward.Unsolvable:
        say(f"{instance.id}: Fast Downward proved it unsolvable (marked so)")
        return replace(instance, solvable=False)
    except SearchLimit as error:
        say(f"{instance.id}: skipped, no optimal plan within the bound: {error}")
        return None
    say(f"{instance.id}: optimal plan of {len(plan)} steps")
    return replace(instance, optimal_plan=tuple(tuple(a.strip("()").lower().split()) for a in plan))


def _write_files(instances: list[Instance], out: Path) -> None:
    vocabularies = sorted({i.vocabulary for i in instances})
    domain_files = {v: "domain.pddl" if len(vocabularies) == 1 else f"domain-{_file_stem(v)}.pddl"
                    for v in vocabularies}
    lines = []
    for instance in instances:
        problem_file = f"{_file_stem(instance.id)}.pddl"
        domain_text, problem_text = domains.instance_pddl(instance)
        (out / domain_files[instance.vocabulary]).write_text(domain_text)
        (out / problem_file).write_text(problem_text)
        vocab = domains.vocabulary_of(instance)
        lines.append(json.dumps({
            "id": instance.id, "domain": instance.domain, "vocabulary": instance.vocabulary,
            "n_objects": len(instance.objects), "optimal_length": instance.optimal_length,
            "seed": instance.seed, "domain_file": domain_files[instance.vocabulary],
            "problem_file": problem_file, "plan": [vocab.fact(a) for a in instance.optimal_plan],
            **{k: v for k, v in asdict(instance).items() if k not in ("id", "domain", "vocabulary", "seed")}}))
    (out / MANIFEST).write_text("".join(line + "\n" for line in lines))


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def load_instances(path: str | Path) -> list[Instance]:
    """Instances of a generated set (its folder or manifest.jsonl) or of a PlanBench config folder."""
    path = Path(path).resolve()
    if path.is_file() and path.name.endswith(".jsonl"):
        return read_manifest(path)
    if (path / MANIFEST).is_file():
        return read_manifest(path / MANIFEST)
    if path.is_dir() and any(path.glob("generated_domain*.pddl")):
        return _cached_planbench(path)
    sets = sorted(p for p in path.iterdir() if (p / MANIFEST).is_file()) if path.is_dir() else []
    if sets:  # `generate` with several --domain writes one set per subfolder
        return [instance for folder in sets for instance in read_manifest(folder / MANIFEST)]
    raise PlanbenchError(f"{path}: neither a generated set ({MANIFEST}) nor a PlanBench instance folder "
                         "(generated_domain.pddl + instance-N.pddl)")


def read_manifest(path: Path) -> list[Instance]:
    """The instances listed in a manifest.jsonl written by `write_set`; an imported domain the
    set folder holds is registered (`domains.register_sets`)."""
    instances = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                instances.append(instance_from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as error:
                raise PlanbenchError(f"not an instance record: {error}", str(path), number) from None
    domains.register_sets(instances, [path.parent])
    return instances


def _cached_planbench(folder: Path) -> list[Instance]:
    """`load_planbench`, cached, so that a set folder is read once (about 0.5 ms a problem).

    The cache lives in $PLANBENCH_SCALE_CACHE (default ~/.cache/planbench_scale), one JSON file per
    folder keyed by its path and a hash of every file in it; a cache that cannot be written only
    costs time.
    """
    digest = hashlib.sha256(f"planbench-import-{CACHE_VERSION}\0{folder}".encode())
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    cache = cache_dir() / f"planbench-{_file_stem(folder.name)}-{digest.hexdigest()[:24]}.json"
    if cache.is_file():
        try:
            return [instance_from_dict(record) for record in json.loads(cache.read_text())]
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is rebuilt below
    instances = domains.load_planbench(folder)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps([asdict(i) for i in instances]))
        temporary.replace(cache)
    except OSError:
        pass
    return instances


def resolve(spec: str) -> tuple[Instance, list[Instance]]:
    """The instance an --instance value names (a problem file in a set folder, or SET_DIR:ID), and
    its whole set (the pool for one-shot examples)."""
    folder, _, wanted = spec.rpartition(":")
    if folder and Path(folder).is_dir():
        pool = load_instances(folder)
        matches = [i for i in pool if i.id == wanted or i.id.endswith("/" + wanted)]
    else:
        path = Path(spec)
        if not path.is_file():
            raise PlanbenchError(f"--instance {spec!r} is neither a problem file nor SET_DIR:ID")
        pool = load_instances(path.parent)
        matches = [i for i in pool if i.source != "generated" and Path(i.source).resolve() == path.resolve()]
        matches = matches or [i for i in pool if i.id == path.stem or i.id.endswith("/" + path.stem)]
    if len(matches) != 1:
        raise PlanbenchError(f"--instance {spec!r} names {len(matches)} instances, not one")
    return matches[0], pool
