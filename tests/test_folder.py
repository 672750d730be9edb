"""Domains as data: the top-level domains/ folder, data-only domains registered from it and from
imported sets, the distance oracle from Fast Downward, and the wheel's package list."""

import re
from pathlib import Path

import pytest

from planbench_scale import domains, instances
from planbench_scale.domains import folder
from planbench_scale.errors import PlanbenchError

ROOT = Path(__file__).resolve().parents[1]


def test_the_data_root_is_the_checkouts_domains_folder_and_holds_every_familys_data():
    root = Path(str(folder.data_root()))
    assert root == ROOT / "domains"
    for name in ("blocksworld/domain.pddl", "blocksworld/mystery.yaml", "logistics/domain.pddl",
                 "blocksworld/planbench/obfuscated_randomized_blocksworld.yaml", "gripper/domain.pddl"):
        assert (root / name).is_file(), name
    assert "pick-up" in domains.get("blocksworld").domain_pddl(domains.get("blocksworld").vocabulary())


def test_a_folder_no_code_family_claims_is_a_data_only_domain():
    gripper = domains.get("gripper")
    assert isinstance(gripper, folder.FolderDomain)
    assert gripper.actions == {"move": 2, "pick": 3, "drop": 3}
    assert gripper.predicates["carry"] == 2
    assert not any(isinstance(domains.get(n), folder.FolderDomain) for n in ("blocksworld", "logistics"))
    with pytest.raises(PlanbenchError, match="no generator: make a set .* import --domain gripper"):
        instances.generate_set("gripper")
    with pytest.raises(PlanbenchError, match="unknown vocabulary 'mystery'"):
        gripper.vocabulary("mystery")


def test_the_distance_oracle_is_fast_downwards_length_from_the_state(tmp_path):
    _, made = instances.import_set(ROOT / "domains/gripper/domain.pddl", ROOT / "domains/gripper/problems",
                                   tmp_path / "g", "gripper")
    two = next(i for i in made if i.id == "p02")
    gripper = domains.get("gripper")
    assert gripper.distance(two, two.init) == 5
    after = set(two.init) - {("at", "ball1", "rooma"), ("free", "left")} | {("carry", "ball1", "left")}
    assert gripper.distance(two, tuple(after)) == 4
    dead = set(two.init) - {("at", "ball1", "rooma")}  # ball1 is nowhere: the goal is unreachable
    assert gripper.distance(two, tuple(dead)) == folder.UNREACHABLE


def test_a_template_without_the_domains_phrases_is_refused_before_the_set_is_made(tmp_path):
    words = tmp_path / "words.yaml"
    words.write_text((ROOT / "domains/blocksworld/blocksworld.yaml").read_text())
    with pytest.raises(PlanbenchError, match="no phrase for the action move"):
        instances.import_set(ROOT / "domains/gripper/domain.pddl", ROOT / "domains/gripper/problems",
                             tmp_path / "s", "gripper-bw", words)
    assert not (tmp_path / "s").exists()  # refused before the set folder is made


def test_every_package_is_listed_for_the_wheel():
    listed = set(re.findall(r'"(planbench_scale[\w.]*)"', (ROOT / "pyproject.toml").read_text()))
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "planbench_scale").rglob("__init__.py")}
    assert found <= listed and "planbench_scale.domain_data" in listed


def test_the_distance_oracle_past_its_bound_is_refused_before_any_model_loads(tmp_path, monkeypatch):
    from planbench_scale.config import EngineConfig, Settings
    from planbench_scale.records import Instance
    from planbench_scale.runner import plan_run

    balls = [f"ball{n}" for n in range(40)]  # optimal Gripper plans of 40 balls: far past 1 s
    init = [("at-robby", "rooma"), ("free", "left"), ("free", "right"), ("gripper", "left"),
            ("gripper", "right"), ("room", "rooma"), ("room", "roomb")]
    init += [f for b in balls for f in (("ball", b), ("at", b, "rooma"))]
    big = Instance("g40", "gripper", "gripper", ("rooma", "roomb", "left", "right", *balls),
                   tuple(sorted(init)), tuple(sorted(("at", b, "roomb") for b in balls)), ())
    instances.write_set([big], tmp_path / "set")
    monkeypatch.setattr(folder, "DISTANCE_TIME_LIMIT", 1.0)
    engine = EngineConfig("vllm", str(tmp_path / "no-such-model"))  # loading it would fail
    with pytest.raises(PlanbenchError, match="--score distance: domain gripper cannot give the "
                                             "optimal distance within its bound .*g40.*time"):
        plan_run(Settings(strategy="beam", k=2, beam_width=2, propose="legal", score="distance"),
                 engine, tmp_path / "set", resolve=lambda same: same)
