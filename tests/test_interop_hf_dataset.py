"""Instance sets as a Hugging Face dataset: the Parquet file and card load with `datasets`, and
every row is the set's instance (its plan valid, its prompt ours)."""

import pytest
from click.testing import CliRunner

from planbench_scale.cli import main
from planbench_scale.domains import task_for
from planbench_scale.instances import load_instances
from planbench_scale.interop.hf_dataset import DATA_FILE, instance_from_json
from planbench_scale.symbolic.validate import validate
from planbench_scale.text.prompts import render

datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    result = CliRunner().invoke(main, ["generate", "--domain", "mystery", "--objects", "3-4",
                                       "--steps", "2-4", "--per-step", "2", "--unsolvable", "0.2",
                                       "--seed", "3", "--out", str(root / "set")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["export-set", str(root / "set"), str(root / "hf"), "--shots", "1"])
    assert result.exit_code == 0, result.output
    return root


def test_the_dataset_loads_with_datasets_and_holds_the_set(exported, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    rows = datasets.load_dataset("parquet", data_files=str(exported / "hf" / DATA_FILE),
                                 split="train", cache_dir=str(tmp_path))
    pool = load_instances(exported / "set")
    assert rows["id"] == [i.id for i in pool]
    for row, instance in zip(rows, pool):
        assert row["optimal_length"] == instance.optimal_length and row["solvable"] == instance.solvable
        assert row["prompt"] == render(instance, "nl", 1, pool).text
        if instance.solvable:
            assert validate(task_for(instance), row["optimal_plan"]).valid
        assert row["problem_pddl"].lstrip().startswith("(define")
        assert instance_from_json(row["instance"]) == instance
    assert not all(rows["solvable"]) and any(rows["solvable"])


def test_the_card_names_the_data_files_for_load_dataset(exported, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    card = (exported / "hf" / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and f"path: {DATA_FILE}" in card
    loaded = datasets.load_dataset(str(exported / "hf"), cache_dir=str(tmp_path))
    assert list(loaded) == ["test"] and loaded["test"].num_rows == len(load_instances(exported / "set"))
    assert loaded["test"].features["optimal_plan"].feature.dtype == "string"


def test_export_refuses_a_folder_that_holds_something(exported):
    result = CliRunner().invoke(main, ["export-set", str(exported / "set"), str(exported / "hf")])
    assert result.exit_code == 2 and "not an empty folder" in result.output
