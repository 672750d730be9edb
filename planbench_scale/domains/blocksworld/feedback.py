"""Lower bounds on the minimum feedback vertex set of a small directed graph.

Graphs are {vertex: bit mask of its predecessors} over vertices 0..63 or so. The search for
Blocksworld plans needs, at every state, how many blocks at least must move twice: the fewest
vertices whose removal leaves its precedence graph without cycles. That is NP-hard in general but
small here: the graph is first reduced (a self-loop vertex is always taken; a vertex with no
predecessor or successor is on no cycle; a vertex with one predecessor or one successor can be
merged into it), then a branch and bound over the vertices of a shortest cycle, pruned by packed
vertex-disjoint cycles, proves the exact size unless it runs past its step budget, in which case
the largest size proven so far is returned (still a lower bound).
"""

from __future__ import annotations

Graph = dict[int, int]
"""{vertex: mask of predecessors}."""


def bits(mask: int):
    """The positions of the set bits of `mask`, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def feedback_bound(preds: Graph, budget: int = 400) -> int:
    """The minimum feedback vertex set size, or a lower bound when `budget` branch steps do not settle it."""
    graph, taken = _reduced(preds)
    bound, steps = disjoint_cycles(graph), [budget]
    while _cover_within(graph, bound, steps) is False:
        bound += 1
    return taken + bound


def disjoint_cycles(preds: Graph) -> int:
    """A packing of vertex-disjoint cycles, found greedily: self-loops, 2-cycles, then one per component."""
    count, alive = 0, _mask(preds)
    for v in bits(alive):
        if preds[v] >> v & 1:
            count, alive = count + 1, alive & ~(1 << v)
    for v in bits(alive):
        if not alive >> v & 1:
            continue
        for u in bits(preds[v] & alive):
            if preds[u] >> v & 1:
                count, alive = count + 1, alive & ~(1 << u) & ~(1 << v)
                break
    return count + _nontrivial_components(preds, alive)


def _mask(graph: Graph) -> int:
    mask = 0
    for v in graph:
        mask |= 1 << v
    return mask


def _successors(preds: Graph, alive: int) -> Graph:
    succs = dict.fromkeys(bits(alive), 0)
    for v in succs:
        bit, mask = 1 << v, preds[v] & alive
        while mask:  # bits(), inlined: this loop is the hottest of the search
            low = mask & -mask
            succs[low.bit_length() - 1] |= bit
            mask ^= low
    return succs


def _nontrivial_components(preds: Graph, alive: int) -> int:
    """Strongly connected components with at least two vertices, among `alive`."""
    succs = _successors(preds, alive)
    count, left = 0, alive
    while left:
        v = (left & -left).bit_length() - 1
        component = _reach(preds, alive, v) & _reach(succs, alive, v)
        count += component != 1 << v
        left &= ~component
    return count


def _reach(adjacent: Graph, alive: int, start: int) -> int:
    seen = frontier = 1 << start
    while frontier:
        new = 0
        for v in bits(frontier):
            new |= adjacent[v]
        frontier = new & alive & ~seen
        seen |= frontier
    return seen


def _reduced(preds: Graph) -> tuple[Graph, int]:
    """The reduced graph and the number of vertices the reduction had to take (self-loops)."""
    alive = _mask(preds)
    preds = {v: p & alive for v, p in preds.items()}
    succs = _successors(preds, alive)
    work, taken = list(preds), 0
    while work:
        v = work.pop()
        if v not in preds:
            continue
        p, s, bit = preds[v], succs[v], 1 << v
        if p & bit:
            taken += 1
        elif p and s and p & (p - 1) and s & (s - 1):
            continue
        elif p and s and not p & (p - 1):  # one predecessor u: v's successors follow u instead
            u = p.bit_length() - 1
            for w in bits(s):
                preds[w] |= 1 << u
            succs[u] |= s
        elif p and s:  # one successor w: v's predecessors precede w instead
            w = s.bit_length() - 1
            preds[w] |= p
            for u in bits(p):
                succs[u] |= 1 << w
        _drop(preds, succs, v)
        work.extend(bits(p | s))
    return preds, taken


def _drop(preds: Graph, succs: Graph, v: int) -> None:
    keep = ~(1 << v)
    for graph, mask in ((succs, preds.pop(v) & keep), (preds, succs.pop(v) & keep)):
        while mask:  # bits(), inlined
            low = mask & -mask
            graph[low.bit_length() - 1] &= keep
            mask ^= low


def _cover_within(preds: Graph, k: int, steps: list[int]) -> bool | None:
    """Whether removing at most k vertices breaks every cycle; None when the step budget runs out."""
    steps[0] -= 1
    if steps[0] < 0:
        return None
    graph, taken = _reduced(preds)
    k -= taken
    if k < 0 or (graph and (k == 0 or disjoint_cycles(graph) > k)):
        return False
    if not graph:
        return True
    for v in _shortest_cycle(graph):
        rest = {u: p & ~(1 << v) for u, p in graph.items() if u != v}
        found = _cover_within(rest, k - 1, steps)
        if found is not False:
            return found
    return False


def _shortest_cycle(preds: Graph) -> list[int]:
    """The vertices of a shortest cycle (the graph has one: it is reduced and not empty)."""
    alive = _mask(preds)
    best: list[int] = []
    for v in preds:
        layers, seen = [], 1 << v
        frontier = preds[v] & alive
        while frontier and (not best or len(layers) + 2 <= len(best)):
            if frontier >> v & 1:
                best = _walk_back(preds, layers, v)
                break
            seen |= frontier
            layers.append(frontier)
            nxt = 0
            for u in bits(frontier):
                nxt |= preds[u]
            frontier = nxt & alive & ~(seen & ~(1 << v))
    return best


def _walk_back(preds: Graph, layers: list[int], v: int) -> list[int]:
    """The cycle closing at v: layers[i] holds the vertices i+1 edges before v, v precedes the last."""
    cycle, after = [v], v
    for layer in reversed(layers):
        after = next(u for u in bits(layer) if preds[u] >> after & 1)
        cycle.append(after)
    return cycle
