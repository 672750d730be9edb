"""Optimal Blocksworld planning: A* over block moves with Gupta-Nau pruning and deadlock bounds.

States have the hand empty: below[i] is the block under block i, or TABLE. The goal gives
target[i], the block that block i must end on, or FREE when the goal leaves it open.

A block must move if the goal puts it elsewhere, if it stands on a block that must move, or if it
stands on a block that the goal reserves for another block. Two kinds of moves are safe to make at
once (some optimal plan starts with them): a must-move block with no target goes to the table, and
a must-move block goes onto its target when that target is clear and never has to move. When
neither exists, some optimal plan next moves a must-move block to the table, so those are the only
branches. The heuristic counts must-move blocks plus a lower bound on the blocks that must move
twice: vertex-disjoint cycles of the "must start moving before the other finishes" graph.
"""

from __future__ import annotations

import heapq
import itertools

TABLE = -1
"""below[i] == TABLE: block i stands on the table."""
FREE = -2
"""target[i] == FREE: the goal does not say where block i ends."""

Move = tuple[int, int]
"""(block, destination block or TABLE)."""


def optimal_moves(below: tuple[int, ...], target: tuple[int, ...]) -> list[Move]:
    """A shortest sequence of block moves from `below` to a state where every target holds."""
    return _Search(target).run(list(below))


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


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _Search:
    """One A* search towards a fixed goal."""

    def __init__(self, target: tuple[int, ...]):
        self.target = target
        self.claimed = [-1] * len(target)
        for upper, lower in enumerate(target):
            if lower >= 0:
                self.claimed[lower] = upper

    def run(self, below: list[int]) -> list[Move]:
        start, first_moves = self.settle(below)
        info = {start: self.analyse(start)}
        best = {start: len(first_moves)}
        came: dict[tuple, tuple[tuple | None, list[Move]]] = {start: (None, first_moves)}
        tie = itertools.count()
        heap = [(best[start] + info[start][0], -best[start], next(tie), start)]
        while heap:
            _, neg_g, _, state = heapq.heappop(heap)
            if -neg_g > best[state]:
                continue
            h, candidates = info[state]
            if h == 0:
                return self._path(came, state)
            for block in candidates:
                child = list(state)
                child[block] = TABLE
                child, moves = self.settle(child)
                g = best[state] + 1 + len(moves)
                if g < best.get(child, g + 1):
                    best[child], came[child] = g, (state, [(block, TABLE), *moves])
                    if child not in info:
                        info[child] = self.analyse(child)
                    heapq.heappush(heap, (g + info[child][0], -g, next(tie), child))
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
                continue
            old = below[block]
            below[block], must = dest, must & ~(1 << block)
            moves.append((block, dest))
            if dest >= 0:
                on_top[dest] = block
            if old >= 0:
                on_top[old] = -1
                work.extend(b for b in (old, claimed[old]) if b >= 0)
            if claimed[block] >= 0:
                work.append(claimed[block])
        return tuple(below), moves

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
        preds = {block: self._preds(block, tower_of, height, suffix) & must for block in _bits(must)}
        candidates = [b for b in _bits(must) if on_top[b] < 0 and below[b] != TABLE]
        return must.bit_count() + disjoint_cycles(preds, must), candidates

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


def disjoint_cycles(preds: dict[int, int], vertices: int) -> int:
    """A lower bound on the minimum feedback vertex set: greedily packed vertex-disjoint cycles."""
    count, alive = 0, vertices
    for v in _bits(vertices):
        if preds[v] >> v & 1:
            count, alive = count + 1, alive & ~(1 << v)
    for v in _bits(alive):
        if not alive >> v & 1:
            continue
        for u in _bits(preds[v] & alive):
            if preds[u] >> v & 1:
                count, alive = count + 1, alive & ~(1 << u) & ~(1 << v)
                break
    return count + _nontrivial_components(preds, alive)


def _nontrivial_components(preds: dict[int, int], alive: int) -> int:
    """Strongly connected components with at least two vertices, among `alive`."""
    succs = dict.fromkeys(_bits(alive), 0)
    for v in _bits(alive):
        for u in _bits(preds[v] & alive):
            succs[u] |= 1 << v
    count, left = 0, alive
    while left:
        v = (left & -left).bit_length() - 1
        component = _reach(preds, alive, v) & _reach(succs, alive, v)
        count += component != 1 << v
        left &= ~component
    return count


def _reach(adjacent: dict[int, int], alive: int, start: int) -> int:
    seen = frontier = 1 << start
    while frontier:
        new = 0
        for v in _bits(frontier):
            new |= adjacent[v]
        frontier = new & alive & ~seen
        seen |= frontier
    return seen
