"""Instance sets as a Hugging Face dataset: one Parquet file of the set's instances and a
dataset card (README.md with YAML front matter naming the data files), so that
`datasets.load_dataset("parquet", data_files=...)`, or `load_dataset(FOLDER)`, reads it.

One row per instance: its id, domain, vocabulary, object count, optimal length, whether it is
solvable, the optimal plan (PDDL actions in the instance's vocabulary), the domain and problem
PDDL, the prompt (one style and shot count, recorded in the card) and the whole Instance
record as JSON, from which a scorer rebuilds the instance.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from planbench_scale import domains
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances, new_folder
from planbench_scale.records import Instance, instance_from_dict
from planbench_scale.text.prompts import render

DATA_FILE = "data/test-00000-of-00001.parquet"
"""Where the rows go inside the dataset folder (the hub's own layout for one test split)."""

SCHEMA = pa.schema([("id", pa.string()), ("domain", pa.string()), ("vocabulary", pa.string()),
                    ("n_objects", pa.int64()), ("optimal_length", pa.int64()),
                    ("solvable", pa.bool_()), ("optimal_plan", pa.list_(pa.string())),
                    ("domain_pddl", pa.string()), ("problem_pddl", pa.string()),
                    ("prompt", pa.string()), ("instance", pa.string())])
"""The dataset's columns; "instance" is the Instance record as JSON (`instance_from_json`)."""


def dataset_rows(instance_set: str | Path, style: str = "nl", shots: int = 0,
                 templates: str = "default") -> pa.Table:
    """The set's instances as a table of SCHEMA."""
    pool = load_instances(instance_set)
    rows = []
    for instance in pool:
        domain_pddl, problem_pddl = domains.instance_pddl(instance)
        vocabulary = domains.vocabulary_of(instance)
        rows.append({"id": instance.id, "domain": instance.domain,
                     "vocabulary": instance.vocabulary, "n_objects": len(instance.objects),
                     "optimal_length": instance.optimal_length, "solvable": instance.solvable,
                     "optimal_plan": [vocabulary.fact(a) for a in instance.optimal_plan],
                     "domain_pddl": domain_pddl, "problem_pddl": problem_pddl,
                     "prompt": render(instance, style, shots, pool, templates).text,
                     "instance": json.dumps(asdict(instance))})
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def instance_from_json(text: str) -> Instance:
    """The Instance of a dataset row's "instance" column."""
    return instance_from_dict(json.loads(text))


def card(table: pa.Table, source: str, style: str, shots: int, templates: str) -> str:
    """The dataset card: YAML front matter (the data files, the features) and a short text."""
    lengths = [n for n, ok in zip(table.column("optimal_length").to_pylist(),
                                  table.column("solvable").to_pylist()) if ok] or [0]
    domains_named = sorted(set(table.column("domain").to_pylist()))
    features = "\n".join(f"  - name: {f.name}\n    " + (
        "sequence: string" if pa.types.is_list(f.type) else f"dtype: {_dtype(f.type)}")
        for f in SCHEMA)
    return f"""---
configs:
- config_name: default
  data_files:
  - split: test
    path: {DATA_FILE}
dataset_info:
  features:
{features}
tags:
- planning
- pddl
- planbench
---
# Planning instances from planbench_scale

{table.num_rows} instances ({", ".join(domains_named)}), optimal plans of {min(lengths)} to
{max(lengths)} steps, exported from `{source}` by `planbench-scale export-set`. Every optimal
plan is certified; `solvable` false means the right answer is a claim that no plan exists.
The `prompt` column is the {style} prompt with {shots} solved example(s) (templates
`{templates}`). Load it with

    datasets.load_dataset("parquet", data_files="{DATA_FILE}", split="train")

and check answers with `planbench-scale score` (answers as JSON lines, ids from the `id` column).
"""


def _dtype(kind: pa.DataType) -> str:
    return {pa.string(): "string", pa.int64(): "int64", pa.bool_(): "bool"}[kind]


def export_set(instance_set: str | Path, out: str | Path, style: str = "nl", shots: int = 0,
               templates: str = "default") -> Path:
    """Write the set as a dataset folder OUT (new or empty): the Parquet file and README.md."""
    table = dataset_rows(instance_set, style, shots, templates)
    folder = new_folder(out)
    try:
        (folder / DATA_FILE).parent.mkdir(parents=True)
        pq.write_table(table, folder / DATA_FILE, compression="zstd")
        (folder / "README.md").write_text(card(table, str(instance_set), style, shots, templates))
    except OSError as error:
        raise PlanbenchError(f"cannot write the dataset: {error.strerror or error}", str(folder)) from None
    return folder
