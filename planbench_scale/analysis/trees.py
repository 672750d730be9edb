"""Search traces people can open: a step search's tree per instance as a networkx graph,
written as GraphML and DOT, and drawn for the report.

A node is a stored candidate row (its `sample_index`), an edge runs from the row's `parent`
(node -1: the empty plan, the root) to it. A logprob search's scoring row of a sampled candidate
(a "scored" row at its parent's own depth) is folded into that candidate: its score, and its
tokens added. Each node carries its step (`action`), `score`, `valid` (the plan so far is a
valid plan), `alive` (every step applies), `reason`, `depth` and `tokens` (prompt tokens
computed plus generated, as `records.compute_tokens` counts them).
"""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pandas as pd

from planbench_scale.records import compute_tokens
from planbench_scale.store import read_config, read_samples
from planbench_scale.strategies import STRATEGIES

COLUMNS = ["instance_id", "sample_index", "parent", "depth", "score", "valid", "reason",
           "plan", "text", "finish_reason", "completion_tokens", "computed_tokens"]
"""The sample columns a tree is built from."""

ALIVE = ("valid", "goal_not_reached")
"""Verdict reasons of a plan whose every step applies."""


def is_search(run_dir: str | Path) -> bool:
    """Whether the run is a step search (its strategy spends compute in nodes)."""
    strategy = STRATEGIES.get(read_config(run_dir).settings.strategy)
    return strategy is not None and strategy.unit == "nodes"


def search_tree(rows: pd.DataFrame) -> nx.DiGraph:
    """The tree of one instance's rows (COLUMNS), rooted at node -1, the empty plan."""
    rows = rows.sort_values("sample_index")
    depth = dict(zip(rows["sample_index"], rows["depth"]))
    scoring = (rows["finish_reason"].astype(str) == "scored") & \
        (rows["parent"].map(depth) == rows["depth"])
    graph = nx.DiGraph()
    graph.add_node(-1, action="", score=math.nan, valid=False, alive=True, reason="root",
                   depth=0, tokens=0)
    for row in rows.loc[~scoring].itertuples(index=False):
        plan = str(row.plan or "")
        graph.add_node(int(row.sample_index), action=plan.split("\n")[-1] or str(row.text).strip(),
                       score=math.nan if pd.isna(row.score) else float(row.score),
                       valid=bool(row.valid), alive=str(row.reason) in ALIVE,
                       reason=str(row.reason), depth=int(row.depth),
                       tokens=int(compute_tokens(row.completion_tokens, row.computed_tokens)))
        graph.add_edge(int(row.parent) if int(row.parent) in graph else -1, int(row.sample_index))
    for row in rows.loc[scoring].itertuples(index=False):
        node = graph.nodes[int(row.parent)]
        node["tokens"] += int(compute_tokens(row.completion_tokens, row.computed_tokens))
        if not pd.isna(row.score):
            node["score"] = float(row.score)
    return graph


def search_trees(run_dir: str | Path) -> dict[str, nx.DiGraph]:
    """Every instance's tree of a search run, by instance id."""
    samples = read_samples(run_dir, COLUMNS)
    return {str(instance): search_tree(rows) for instance, rows
            in samples.groupby("instance_id", observed=True)}


def write_trees(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Each instance's tree as OUT/<instance>.graphml and OUT/<instance>.dot; returns the files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for instance, graph in search_trees(run_dir).items():
        stem = out / instance.replace("/", "__")
        nx.write_graphml(graph, stem.with_suffix(".graphml"))
        dot = nx.relabel_nodes(graph, {n: f"n{n}".replace("-", "_") for n in graph})
        for name, data in dot.nodes(data=True):
            data["label"] = f'"{data["action"] or "(empty plan)"}\\nscore {data["score"]:.3g}"'
            data["color"] = "green" if data["valid"] else "black" if data["alive"] else "red"
            data["action"] = f'"{data["action"]}"'
            data["reason"] = f'"{data["reason"]}"'
        nx.nx_pydot.write_dot(dot, stem.with_suffix(".dot"))
        written += [stem.with_suffix(".graphml"), stem.with_suffix(".dot")]
    return written


def chosen_trees(run_dir: str | Path) -> dict[str, tuple[str, nx.DiGraph]]:
    """One solved and one unsolved tree of a search run (the largest of each), as
    {"solved" | "unsolved": (instance id, tree)}; a kind the run lacks is left out."""
    chosen = {}
    for instance, graph in search_trees(run_dir).items():
        kind = "solved" if any(v for _, v in graph.nodes(data="valid")) else "unsolved"
        if kind not in chosen or len(graph) > len(chosen[kind][1]):
            chosen[kind] = (instance, graph)
    return chosen


def draw_tree(graph: nx.DiGraph, title: str, stem: Path) -> list[Path]:
    """A tree drawn by depth (top to bottom) as STEM.png and STEM.svg: green valid plans, red
    dead steps, blue the other live ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers: dict[int, list[int]] = {}  # each depth's nodes in depth-first order: no crossings
    for node in nx.dfs_preorder_nodes(graph, -1):
        layers.setdefault(-graph.nodes[node]["depth"], []).append(node)
    position = nx.multipartite_layout(graph, subset_key=layers, align="horizontal")
    colors = ["tab:green" if d["valid"] else "tab:red" if not d["alive"] else "tab:blue"
              for _, d in graph.nodes(data=True)]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    nx.draw_networkx(graph, position, ax=axes, node_color=colors, node_size=60,
                     with_labels=False, arrows=False, width=0.6)
    axes.set_title(title, fontsize=9)
    axes.set_axis_off()
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for path in paths:
        figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
    return paths


def draw_search_trees(runs, folder: Path) -> list[Path]:
    """One solved and one unsolved tree of each search run among the report's `runs`."""
    paths = []
    folder.mkdir(parents=True, exist_ok=True)
    for number, run in enumerate(runs):
        if not is_search(run.path):
            continue
        for kind, (instance, graph) in sorted(chosen_trees(run.path).items()):
            title = f"{run.name}: {kind} {instance} ({len(graph) - 1} nodes; green valid, red dead)"
            paths += draw_tree(graph, title, folder / f"search_tree_{number}_{kind}")
    return paths
