"""Optimal Blocksworld planning: A* over block moves with Gupta-Nau pruning and deadlock bounds.

States have the hand empty: below[i] is the block under block i, or TABLE. The goal gives
target[i], the block that block i must end on, or FREE when the goal leaves it open.

A block must move if the goal puts it elsewhere, if it stands on a block that must move, or if it
stands on a block that the goal reserves for another block. Three kinds of moves are safe to make at
once (some optimal plan starts with them): a must-move block with no target goes to the table, a
must-move block goes onto its target when that target is clear and never has to move, and a block
standing above a block of its own goal tower (it must move twice) goes to the table. When
none exists, some optimal plan next moves a must-move block to the table, so those are the only
branches. The heuristic counts must-move blocks plus a lower bound on the blocks that must move
twice: the minimum feedback vertex set of the graph "u must start moving before v makes its last
move" (an edge u -> v when u is above v, above a block of v's goal tower, or in v's goal tower),
since a cycle of such constraints cannot hold if every block on it moves only once.
"""

from __future__ import annotations

import heapq
import itertools
import time

from planbench_scale.domains.blocksworld.feedback import bits, feedback_bound
from planbench_scale.errors import PlanbenchError

TABLE = -1
"""below[i] == TABLE: block i stands on the table."""
FREE = -2
"""target[i] == FREE: the goal does not say where block i ends."""

Move = tuple[int, int]
"""(block, destination block or TABLE)."""


class SearchTimeout(PlanbenchError):
    """The optimal search ran past its deadline."""


def optimal_moves(below: tuple[int, ...], target: tuple[int, ...],
                  deadline: float | None = None) -> list[Move]:
    """A shortest sequence of block moves from `below` to a state where every target holds.

    Raises SearchTimeout once `time.monotonic()` passes `deadline` (checked at every expansion).
    """
    return _Search(target, deadline).run(list(below))


def towers(below: tuple[int, ...] | list[int]) -> list[list[int]]:
    """The towers of a state, bottom block first, ordered by bottom block."""
    on_top = _on_top(below)
    result = []
    for bottom in (i for i, lower in enumerate(below) if lower == TABLE):
        tower = [bottom]
        while on_top[tower[-1]] >= 0:
            tower.append(on_top[tower[-1]])
        result.append(tower)
    return result


def _on_top(below) -> list[int]:
    on_top = [-1] * len(below)
    for upper, lower in enumerate(below):
        if lower >= 0:
            on_top[lower] = upper
    return on_top


class _Search:
    """One A* search towards a fixed goal."""

    def __init__(self, target: tuple[int, ...], deadline: float | None = None):
        self.target, self.deadline = target, deadline
        self.claimed = [-1] * len(target)
        for upper, lower in enumerate(target):
            if lower >= 0:
                self.claimed[lower] = upper

    def run(self, below: list[int]) -> list[Move]:
        """A*: a child is queued with its parent's heuristic minus the step (a lower bound, as the
        heuristic is admissible) and evaluated only when it comes first, since most never do."""
        start, first_moves = self.settle(below)
        best, closed, info = {start: len(first_moves)}, {}, {}
        came: dict[tuple, tuple[tuple | None, list[Move]]] = {start: (None, first_moves)}
        tie = itertools.count()
        heap = [(0, -best[start], next(tie), start)]
        while heap:
            key, neg_g, _, state = heapq.heappop(heap)
            g = -neg_g
            if g > best[state] or closed.get(state, g + 1) <= g:
                continue  # a cheaper path came later, or this one was expanded (reopened if cheaper)
            if state not in info:
                info[state] = self.analyse(state)
            h, candidates = info[state]
            if g + h > key:
                heapq.heappush(heap, (g + h, neg_g, next(tie), state))
                continue
            if h == 0:
                return self._path(came, state)
            closed[state] = g
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise SearchTimeout(f"no optimal plan for {len(state)} blocks within the time limit")
            for block in candidates:
                child = list(state)
                child[block] = TABLE
                child, moves = self.settle(child)
                cost = 1 + len(moves)
                if g + cost < best.get(child, g + cost + 1):
                    best[child], came[child] = g + cost, (state, [(block, TABLE), *moves])
                    bound = info[child][0] if child in info else max(h - cost, 0)
                    heapq.heappush(heap, (g + cost + bound, -(g + cost), next(tie), child))
        raise AssertionError("Blocksworld goals that pass goal_targets are always reachable")

    @staticmethod
    def _path(came, state) -> list[Move]:
        parts = []
        while state is not None:
            state, moves = came[state]
            parts.append(moves)
        return [move for part in reversed(parts) for move in part]

    def must_move(self, below, on_top) -> int:
        """Bit mask of the blocks that must move at least once."""
        target, claimed, must = self.target, self.claimed, 0
        for bottom, lower in enumerate(below):
            if lower != TABLE:
                continue
            block, lower, moving = bottom, TABLE, False
            while block >= 0:
                if not moving:
                    goal = target[block]
                    moving = ((goal != FREE and goal != lower)
                              or (lower >= 0 and claimed[lower] >= 0 and claimed[lower] != block))
                if moving:
                    must |= 1 << block
                lower, block = block, on_top[block]
        return must

    def settle(self, below: list[int]) -> tuple[tuple[int, ...], list[Move]]:
        """Make the safe moves until none is left; the state reached and the moves made."""
        target, claimed = self.target, self.claimed
        on_top = _on_top(below)
        must = self.must_move(below, on_top)
        work = [i for i in range(len(below)) if on_top[i] < 0]
        moves = []
        while work:
            block = work.pop()
            if on_top[block] >= 0 or not must >> block & 1:
                continue
            dest = target[block]
            if dest == FREE:
                dest = TABLE
            elif on_top[dest] >= 0 or must >> dest & 1:
                if below[block] == TABLE or not self.above_own_goal(block, below):
                    continue
                dest = TABLE  # it must move twice anyway: out of the way now
            old = below[block]
            below[block] = dest
            if dest == TABLE and target[block] != FREE:
                work.append(block)  # still must move, once its target is ready
            else:
                must &= ~(1 << block)
            moves.append((block, dest))
            if dest >= 0:
                on_top[dest] = block
            if old >= 0:
                on_top[old] = -1
                work.extend(b for b in (old, claimed[old]) if b >= 0)
            if claimed[block] >= 0:
                work.append(claimed[block])
        return tuple(below), moves

    def above_own_goal(self, block: int, below) -> bool:
        """Whether the block stands above a block of its own goal tower, so it must move twice."""
        under, lower = set(), below[block]
        while lower >= 0:
            under.add(lower)
            lower = below[lower]
        goal = self.target[block]
        while goal != FREE and goal not in under:
            goal = self.target[goal]
        return goal != FREE

    def analyse(self, below: tuple[int, ...]) -> tuple[int, list[int]]:
        """The heuristic value of a settled state and the blocks to branch on (to the table)."""
        on_top = _on_top(below)
        must = self.must_move(below, on_top)
        if not must:
            return 0, []
        tower_of, height, suffix = {}, {}, []
        for tower in towers(below):
            masks, mask = [], 0
            for level in range(len(tower) - 1, -1, -1):
                mask |= 1 << tower[level]
                masks.append(mask)
                tower_of[tower[level]], height[tower[level]] = len(suffix), level
            suffix.append(masks[::-1])
        preds = {block: self._preds(block, tower_of, height, suffix) & must for block in bits(must)}
        candidates = [b for b in bits(must) if on_top[b] < 0 and below[b] != TABLE]
        return must.bit_count() + feedback_bound(preds), candidates

    def _preds(self, block, tower_of, height, suffix) -> int:
        """Blocks that must start moving before `block` can make its last move."""
        lowest = {tower_of[block]: height[block] + 1}
        goal = self.target[block]
        while goal != FREE:
            tower = tower_of[goal]
            lowest[tower] = min(lowest.get(tower, height[goal]), height[goal])
            goal = self.target[goal]
        preds = 0
        for tower, level in lowest.items():
            if level < len(suffix[tower]):
                preds |= suffix[tower][level]
        return preds
