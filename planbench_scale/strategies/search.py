"""Step-level search with the verifier in the loop: the model writes a plan one step at a time.

Each expanded node (a plan so far) gets candidate next steps: `branch` lines sampled from the
model (propose "sample"), or every applicable action written in the template's words (propose
"legal"). Every candidate is a stored row: its `parent` the node it continues, its `depth` its
number of steps, its plan the whole plan so far, checked by the validator. A candidate whose
plan has a step that does not apply is dead; the others are ranked by the step score
(`score.STEP_SCORES`). With the "logprob" score, the model's log-probability of each candidate
line is one more stored row (a scoring call, charged the prompt tokens it computed); legal
candidates are then that row itself. A search stops at its first valid plan.

With k candidates a depth in all and a beam width M: `beam` keeps the M best candidates of all
nodes at every depth and samples k/M steps for each; `dvts` (diverse verifier tree search, as in
search-and-learn) grows k/M independent subtrees, each keeping its best candidate and sampling M
steps for it (with legal steps the root is expanded once and its best distinct candidates start
the subtrees). A node none of whose sampled candidates applies is asked again with new seeds, up
to `retries` times. The logprob score of a plan is the mean log-probability per token of its
lines, so long and short actions compare fairly. Node ids (sample indices)
are handed out in a fixed order, so a resumed search rebuilds the same tree: stored answers are
given again from the store, scoring rows with their stored log-probabilities (those stored
without one, before schema 5, are scored again; their rows are not stored again).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from planbench_scale.backends import Request, Result, ScoreRequest, derive_seed
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Completion, Prompt, Reason
from planbench_scale.config import Sampling, Settings
from planbench_scale.score import applicable, check_score, needs_logprobs, state_after, step_score
from planbench_scale.strategies import scored_answer, within_budget
from planbench_scale.text.prompts import describe_action, step_prompt

ALIVE = (Reason.VALID, Reason.GOAL_NOT_REACHED)
"""Verdicts of a plan whose every step applies."""
PROPOSALS = ("sample", "legal")
"""Where candidate steps come from."""


@dataclass
class Node:
    """A plan so far in a search tree."""

    id: int
    """Its sample index (-1 for a root, which is not stored)."""
    tree: int
    """The subtree it belongs to (dvts; always 0 in a beam)."""
    actions: tuple[str, ...] = ()
    """The plan so far, as PDDL actions."""
    line: str = ""
    """The text of its last step, as the model read or wrote it."""
    parent: Node | None = None
    """The node it continues (None for a root)."""
    logprob: float = 0.0
    """The model's summed log-probability of the plan's lines (when scored)."""
    tokens: int = 0
    """How many tokens `logprob` sums over."""
    score: float | None = None
    """Its step score; None while unscored or when dead."""


@dataclass
class Tree:
    """One instance's search: its frontier, the candidates of the current depth, what waits."""

    frontier: list[Node]
    """Nodes to expand next."""
    depth: int = 0
    """Depth of the frontier."""
    next: int = 0
    """The next free sample index."""
    children: list[Node] = field(default_factory=list)
    """Live candidates of the depth being expanded."""
    waiting: dict = field(default_factory=dict)
    """Sample index -> (parent node, candidate node or None) of rows asked for."""
    stored: dict = field(default_factory=dict)
    """Sample index -> stored answer not yet given again (resume)."""
    solved: bool = False
    """Whether a valid plan was found."""


Select = Callable[[list[Node], Settings], list[Node]]
"""(live candidates in id order, settings) -> the next frontier."""


def keep_best(children: list[Node], k: int) -> list[Node]:
    """The k best candidates with distinct plans (ties go to the lower id)."""
    unique = {c.actions: c for c in reversed(children)}
    return sorted(unique.values(), key=lambda c: (-c.score, c.id))[:k]


def beam_select(children: list[Node], settings: Settings) -> list[Node]:
    """Beam: the M best candidates."""
    return keep_best(children, settings.beam_width)


def best_per_tree(children: list[Node], settings: Settings) -> list[Node]:
    """DVTS: the best candidate of each subtree; the first candidates of one shared root (legal
    steps) are dealt out, the best distinct ones each starting a subtree."""
    trees = sorted({c.tree for c in children})
    if settings.propose == "legal" and children[0].parent.id == -1:
        firsts = keep_best(children, subtrees(settings))
        for tree, node in enumerate(firsts):
            node.tree = tree
        return firsts
    return [keep_best([c for c in children if c.tree == t], 1)[0] for t in trees]


def subtrees(settings: Settings) -> int:
    """DVTS: the number of subtrees, k/M."""
    return settings.k // settings.beam_width


def depth_limit(instance, settings: Settings) -> int:
    """Most steps of a plan: `settings.depth`, or twice the optimal length (four times the
    block count for an instance with no plan)."""
    return settings.depth or (2 * instance.optimal_length if instance.solvable
                              else 4 * len(instance.objects))


@dataclass(frozen=True)
class StepSearch:
    """A step-level search that keeps the frontier chosen by `select` from `roots` roots."""

    name: str
    """The registry name."""
    select: Select
    """How the next frontier is chosen from the live candidates."""
    roots: Callable[[Settings], int]
    """How many subtrees a search has."""
    branch: Callable[[Settings], int]
    """How many steps are sampled for each expanded node."""
    replays_text: bool = True
    unit: str = "nodes"
    reads_plans: bool = True

    def check(self, settings: Settings, instances) -> None:
        """Refuse settings that cannot work before anything runs."""
        _check(settings, instances)

    def start(self, state, settings: Settings) -> None:
        """The empty plan as the root of each subtree (one shared root for legal steps)."""
        roots = 1 if settings.propose == "legal" else self.roots(settings)
        state.open = {"tree": Tree([Node(-1, t) for t in range(roots)])}

    def waves(self, states, settings: Settings):
        """Per depth: the frontier expanded (nodes with no applicable candidate asked again);
        with sampled steps and the logprob score, the new candidates scored; then the next
        frontier chosen."""
        while True:
            active = [s for s in states if not self.finished(s, settings)]
            if not active:
                return
            yield [item for s in active for item in _expand(s, settings, self.branch(settings))]
            yield from self._retries(active, settings)
            if settings.propose == "sample" and needs_logprobs(settings.score):
                yield [item for s in active for item in _score_children(s, settings)]
            for s in active:
                tree = s.open["tree"]
                tree.frontier = [] if tree.solved or not tree.children else self.select(
                    tree.children, settings)
                tree.children, tree.depth = [], tree.depth + 1

    def _retries(self, states, settings: Settings):
        """Waves asking again for the nodes none of whose sampled candidates applied."""
        for _ in range(settings.retries if settings.propose == "sample" else 0):
            wave = [item for s in states for item in
                    _expand(s, settings, self.branch(settings), _barren(s.open["tree"]))]
            if not wave:
                return
            yield wave

    def answered(self, state, index, round_, answer, scored, settings: Settings):
        """A candidate checked and scored, or a stored answer kept for when it is asked again."""
        tree = state.open["tree"]
        if index not in tree.waiting:
            tree.stored[index] = answer
            return None
        parent, node = tree.waiting.pop(index)
        if node is not None:  # the scoring row of a sampled candidate
            return _rescore(state, node, parent.logprob + answer.logprob,
                            parent.tokens + answer.logprob_tokens, settings)
        extraction, verdict = scored_answer(
            state, _plan_text(state, parent, settings.templates) + answer.text, scored, settings)
        node = Node(index, parent.tree, extraction.actions, answer.text, parent)
        tree.solved = tree.solved or verdict.valid
        extends = extraction.actions[:len(parent.actions)] == parent.actions
        if verdict.reason not in ALIVE or not extends or len(node.actions) == len(parent.actions):
            return None
        tree.children.append(node)
        if answer.logprob is None and needs_logprobs(settings.score):
            return None  # scored by its own scoring row
        return _rescore(state, node, parent.logprob + (answer.logprob or 0.0),
                        parent.tokens + answer.logprob_tokens, settings)

    def finished(self, state, settings: Settings) -> bool:
        tree = state.open["tree"]
        return (tree.solved or not tree.frontier
                or tree.depth >= depth_limit(state.instance, settings)
                or not state.within_budget(settings))

    def most_samples(self, settings: Settings) -> int:
        """For progress: k rows a depth (twice that with scoring rows), over at most 20 depths
        when the depth follows each instance's optimal length."""
        rows = 2 if settings.propose == "sample" and needs_logprobs(settings.score) else 1
        return settings.k * (settings.depth or 20) * rows

    def sampling(self, settings: Settings) -> Sampling:
        """The run's sampling, stopped at the end of a line: one step per answer."""
        return replace(settings.sampling, stop=tuple(dict.fromkeys((*settings.sampling.stop, "\n"))))

    def asks_logprobs(self, settings: Settings) -> bool:
        return needs_logprobs(settings.score)


def _check(settings: Settings, instances) -> None:
    """Refuse unknown proposals and scores, a beam wider than k or not dividing it, and a depth
    limit below an instance's optimal length (and the distance oracle where a domain cannot give
    it, see `score.check_score`)."""
    check_score(settings.score, instances)
    if settings.propose not in PROPOSALS:
        raise PlanbenchError(f"unknown proposal {settings.propose!r}; known: "
                             f"{', '.join(PROPOSALS)}")
    if settings.beam_width > settings.k or settings.k % settings.beam_width:
        raise PlanbenchError(f"--beam-width {settings.beam_width} must divide --k {settings.k} "
                             f"(k candidate steps a depth in all, at most k)")
    check_depth(settings, instances)


def check_depth(settings: Settings, instances) -> None:
    """Refuse a depth limit no valid plan of some instance fits in."""
    longest = max(instances, key=lambda i: i.optimal_length, default=None)
    if settings.depth and longest is not None and settings.depth < longest.optimal_length:
        raise PlanbenchError(f"--depth {settings.depth} is below the optimal length of "
                             f"{longest.id} ({longest.optimal_length} steps): no plan could be "
                             f"found; leave --depth out (twice each optimal length) or raise it")


def _barren(tree: Tree) -> list[Node]:
    """Frontier nodes with no live candidate yet (none when a valid plan was found)."""
    fed = {id(c.parent) for c in tree.children}
    return [] if tree.solved else [n for n in tree.frontier if id(n) not in fed]


def _rescore(state, node: Node, logprob: float, tokens: int, settings: Settings) -> float:
    """Score a live candidate, given its plan's summed log-probability and how many tokens it
    sums over (0 and 0 where unknown)."""
    node.logprob, node.tokens = logprob, tokens
    node.score = step_score(settings.score)(state.instance, state_after(state.instance,
                                                                        node.actions),
                                            logprob / max(tokens, 1))
    return node.score


def _plan_text(state, node: Node, templates: str) -> str:
    """The plan so far in the template's words, one step a line."""
    return "".join(describe_action(state.instance, a, templates) + "\n" for a in node.actions)


def _expand(state, settings: Settings, branch: int, nodes: list[Node] | None = None) -> list:
    """One wave item per node (default: the frontier), asking for its candidates: `branch`
    sampled steps or every legal one (ids handed out in order)."""
    tree, items = state.open["tree"], []
    rows, tokens = state.samples, state.tokens
    for node in tree.frontier if nodes is None else nodes:
        if items and not within_budget(settings, rows, tokens):
            break  # spent by the nodes already asked for (each row at the mean cost so far)
        plan = _plan_text(state, node, settings.templates)
        prompt = step_prompt(state.prompt, plan, settings.templates, state.instance.domain)
        lines = _legal_lines(state, node, settings.templates)
        first, n = tree.next, len(lines) if settings.propose == "legal" else branch
        rows, tokens = rows + n, tokens + n * state.tokens / max(state.samples, 1)
        tree.next += n
        tree.waiting.update({i: (node, None) for i in range(first, first + n)})
        where = dict(first=first, parent=node.id, depth=tree.depth + 1, prefix=plan)
        items.append(_ask(state, settings, prompt, lines, n, where))
    return items


def _ask(state, settings: Settings, prompt: Prompt, lines: tuple[str, ...], n: int, where: dict):
    """The wave item for n candidates: written, scored, given from the store, or sampled."""
    tree, first = state.open["tree"], where["first"]
    if all(i in tree.stored for i in range(first, first + n)):
        stored = tuple(tree.stored.pop(i) for i in range(first, first + n))
        if settings.propose == "sample" or _scored(stored, settings):  # else written again
            return Result(Request(prompt, n, 0, **where), stored)
    if settings.propose == "legal" and needs_logprobs(settings.score):
        return ScoreRequest(prompt, lines, **where)
    if settings.propose == "legal":
        return Result(Request(prompt, n, 0, **where),
                      tuple(Completion(line, 0, 0, "legal") for line in lines))
    return Request(prompt, n, derive_seed(settings.seed, state.instance.id, first), **where)


def _scored(answers: tuple[Completion, ...], settings: Settings) -> bool:
    """Whether stored answers carry the log-probabilities the run's score needs."""
    return needs_logprobs(settings.score) and all(a.logprob is not None for a in answers)


def _legal_lines(state, node: Node, templates: str) -> tuple[str, ...]:
    """Every applicable next action, a line each in the template's words."""
    after = state_after(state.instance, node.actions)
    return tuple(describe_action(state.instance, a, templates) + "\n"
                 for a in applicable(state.instance, after))


def _score_children(state, settings: Settings) -> list[ScoreRequest]:
    """A scoring call for each live sampled candidate: its line after its parent's plan."""
    tree, items = state.open["tree"], []
    for child in tree.children:
        plan = _plan_text(state, child.parent, settings.templates)
        prompt = step_prompt(state.prompt, plan, settings.templates, state.instance.domain)
        tree.waiting[tree.next] = (child.parent, child)
        stored = tree.stored.pop(tree.next, None)
        request = ScoreRequest(prompt, (child.line.rstrip("\n") + "\n",), tree.next, child.id,
                               tree.depth + 1, prefix=plan)
        items.append(Result(request, (stored,)) if stored and _scored((stored,), settings)
                     else request)
        tree.next += 1
    return items


BEAM = StepSearch("beam", beam_select, lambda settings: 1,
                  lambda settings: settings.k // settings.beam_width)
DVTS = StepSearch("dvts", best_per_tree, subtrees, lambda settings: settings.beam_width)
