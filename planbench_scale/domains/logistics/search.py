"""Certified optimal Logistics plans: our A* with an admissible bound where it is fast, else
Fast Downward (A* with LM-cut), bounded in time and memory.

The bound adds three lower bounds on disjoint kinds of actions, so it never overestimates:
- loads and unloads, per package: 2 to move within a city, 2 more for a flight, and 2 more for
  each end of a flight that is not an airport (only the city's truck reaches other locations);
- drives, per truck: the locations of its city that it must still visit (a package to load
  there that only it can carry, or to unload at a goal that is not an airport), less its own;
- flights: the airports a plane must still land at (the goal city of a package that must fly,
  and a planeless airport where such a package waits).
"""

from __future__ import annotations

import time

from planbench_scale.symbolic import astar, fast_downward
from planbench_scale.symbolic.task import Task

OWN_NODES = 20_000
"""States our A* may expand before the problem goes to Fast Downward."""


class Bound:
    """The admissible heuristic of one Logistics task (canonical names), over state masks."""

    def __init__(self, task: Task, init, goal):
        self.city = {f[1]: f[2] for f in init if f[0] == "in-city"}
        self.airport = {self.city[f[1]]: f[1] for f in init if f[0] == "airport"}
        self.planes = {f[1] for f in init if f[0] == "airplane"}
        kinds = {f[1] for f in init if f[0] == "truck"}
        self.truck = {self.city[f[2]]: f[1] for f in init if f[0] == "at" and f[1] in kinds}
        self.goal = {f[1]: f[2] for f in goal if f[0] == "at"}
        task.reachable  # numbers every reachable fact
        self.places = {}  # bit -> (thing, where, "at" or "in")
        for fact, bit in task.bits.items():
            name, *args = fact[1:-1].split()
            if name in ("at", "in") and len(args) == 2:
                self.places[bit] = (args[0], args[1], name)
        self.dynamic = sum(1 << bit for bit in self.places)

    def __call__(self, state: int) -> int:
        at, inside, mask = {}, {}, state & self.dynamic
        while mask:
            low = mask & -mask
            thing, where, kind = self.places[low.bit_length() - 1]
            (at if kind == "at" else inside)[thing] = where
            mask ^= low
        visits = {truck: set() for truck in self.truck.values()}
        landings: set[str] = set()
        planes_at = {at.get(plane) for plane in self.planes}
        loads = 0
        for package, goal in self.goal.items():
            loads += self._package(package, goal, at, inside, visits, landings, planes_at)
        drives = sum(len(places - {at.get(truck)}) for truck, places in visits.items())
        return loads + drives + len(landings)

    def _package(self, package, goal, at, inside, visits, landings, planes_at) -> int:
        """Loads and unloads the package still needs; records its truck visits and landings."""
        city, vehicle = self.city[goal], inside.get(package)
        if vehicle is None:
            here = at[package]
            if here == goal:
                return 0
            start = self.city[here]
            if start == city:  # one airport a city: one end is not, so the city's truck does it
                visits[self.truck[city]] |= {here, goal}
                return 2
            cost = 2
            if here != self.airport[start]:
                visits[self.truck[start]] |= {here, self.airport[start]}
                cost += 2
            if self.airport[start] not in planes_at:
                landings.add(self.airport[start])
        elif vehicle in self.planes:
            if self.city[at[vehicle]] == city:
                if goal == at[vehicle]:
                    return 1
                visits[self.truck[city]] |= {at[vehicle], goal}
                return 3
            cost = 1
        else:
            start = self.city[at[vehicle]]
            if start == city:
                visits[vehicle].add(goal)
                return 1
            visits[vehicle].add(self.airport[start])
            cost = 3
            if self.airport[start] not in planes_at:
                landings.add(self.airport[start])
        landings.add(self.airport[city])
        if goal != self.airport[city]:
            visits[self.truck[city]] |= {self.airport[city], goal}
            cost += 2
        return cost


def optimal_plan(task: Task, init, goal, domain: str, problem: str,
                 time_limit: float = fast_downward.TIME_LIMIT,
                 memory_limit_mb: int = fast_downward.MEMORY_LIMIT_MB,
                 longest: int | None = None) -> list[str] | None:
    """An optimal plan (PDDL action strings): ours if A* settles it within OWN_NODES states,
    else Fast Downward's within the bounds (SearchLimit past them); None without searching
    when the bound says it takes more than `longest` steps."""
    bound = Bound(task, init, goal)
    if longest is not None and bound(task.init) > longest:
        return None
    try:
        ids = astar.optimal_plan(task, bound, time.monotonic() + time_limit, OWN_NODES)
        return [task.actions[i] for i in ids]
    except astar.SearchLimit:
        return fast_downward.optimal_plan(domain, problem, time_limit, memory_limit_mb)
