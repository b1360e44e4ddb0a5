"""Summarising a graph too large to draw: which nodes go into which box.

A network's loss has tens of thousands of nodes; Graphviz chokes long before that, and nobody
could read the picture anyway. The summary keeps the structure a reader cares about:

1. **By module.** A parameter's label is its dotted name (``layers.0.neurons.3.w.1``), which
   names the module that owns it (``layers.0.neurons.3``). An operation belongs to a module
   if it reads that module's parameters directly (the neuron's ``dot(w, x)``, its ``+ b``), or
   if every one of its inputs belongs to that module (the activation above them). Unlabelled
   leaves read only by one module's nodes (numbers wrapped on the fly) go into its box too.
   Modules are merged into coarser ones (``layers.0``) while the picture is still too large.
2. **By distance from the output.** When boxes per module are not enough, or the graph has
   no labelled parameters, the nodes nearest the output stay drawn one by one and the rest
   are put into a few boxes by their distance (in edges) from the output.

Roots (outputs) are never collapsed. Everything here works on node indices (positions in
topological order) so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Group", "Plan", "Repeat", "find_repeats", "module_owners", "module_path", "plan_collapse"]

# How many boxes at most hold the nodes collapsed by distance from the output.
_MAX_DISTANCE_BOXES = 6


@dataclass
class Group:
    """One box of the summary: a module's nodes, or the nodes at some distances from the output."""

    name: str
    kind: str  # "module", "distance" or "repeat"
    members: list[int] = field(default_factory=list)
    cluster: str | None = None  # the enclosing module's name, drawn as a Graphviz cluster
    # Only for a box of repeated terms ("repeat"): the drawn nodes whose edges into it are drawn.
    # The others (the parameters every sample reads) would only repeat the first sample's edges.
    inputs: list[int] | None = None


@dataclass
class Plan:
    """The summary: ``group_of[i]`` is the index into ``groups`` of node i's box, or None."""

    group_of: list[int | None]
    groups: list[Group]
    notes: list[str]

    @property
    def boxes(self) -> int:
        """Records drawn: nodes drawn one by one plus group boxes."""
        return sum(g is None for g in self.group_of) + len(self.groups)


def module_path(label: str) -> tuple[str, ...] | None:
    """The module that owns a parameter with dotted name ``label``, or None.

    ``layers.0.neurons.3.w.1`` -> ``('layers', '0', 'neurons', '3')``: trailing indices and
    then the attribute name are dropped. A name without a module part (``w1``) gives None.
    """
    parts = label.split(".")
    if len(parts) < 2 or not all(parts):
        return None
    while parts and parts[-1].isdigit():
        parts.pop()
    if len(parts) < 2:
        return None
    return tuple(parts[:-1])


def module_owners(
    children: Sequence[Sequence[int]],
    param_paths: Sequence[tuple[str, ...] | None],
    is_param: Sequence[bool],
) -> list[tuple[str, ...] | None]:
    """The module that made each node (see the module docstring), in one pass inputs-first."""
    owners: list[tuple[str, ...] | None] = []
    for i, kids in enumerate(children):
        if not kids:
            owners.append(param_paths[i] if is_param[i] else None)
            continue
        direct = {owners[c] for c in kids if is_param[c] and owners[c] is not None}
        if direct:
            owners.append(direct.pop() if len(direct) == 1 else None)
            continue
        first = owners[kids[0]]
        owners.append(first if first is not None and all(owners[c] == first for c in kids) else None)
    return owners


@dataclass
class _Level:
    depth: int  # how many leading path components name a group
    keys: list[tuple[str, ...] | None]  # per node: its group's path, or None (drawn one by one)
    n_groups: int
    n_single: int


def _module_levels(
    children: Sequence[Sequence[int]],
    owners: Sequence[tuple[str, ...] | None],
    absorbable: Sequence[bool],
    roots: set[int],
) -> list[_Level]:
    """Groupings by module, finest first; each strictly coarser than the one before."""
    depths = {len(o) for o in owners if o is not None}
    if not depths:
        return []
    levels: list[_Level] = []
    for depth in range(max(depths), 0, -1):
        keys: list[tuple[str, ...] | None] = [
            None if (o is None or i in roots) else o[:depth] for i, o in enumerate(owners)
        ]
        # An unlabelled leaf read only by nodes of one group joins that group.
        reader_key: dict[int, tuple[str, ...] | None] = {}
        mixed: set[int] = set()
        for i, kids in enumerate(children):
            for c in kids:
                if absorbable[c] and c not in mixed:
                    if c not in reader_key:
                        reader_key[c] = keys[i]
                    elif reader_key[c] != keys[i]:
                        mixed.add(c)
        for c, key in reader_key.items():
            if key is not None and c not in mixed:
                keys[c] = key
        n_groups = len({k for k in keys if k is not None})
        n_single = sum(k is None for k in keys)
        if levels and levels[-1].n_groups == n_groups:
            levels[-1] = _Level(depth, keys, n_groups, n_single)  # same partition, shorter names
        else:
            levels.append(_Level(depth, keys, n_groups, n_single))
    return levels


def _distances(children: Sequence[Sequence[int]], roots: Sequence[int]) -> tuple[list[int], list[int]]:
    """Breadth-first from the roots towards the inputs: (distance of each node, visiting order)."""
    distance = [-1] * len(children)
    visit: list[int] = []
    for r in roots:
        if distance[r] < 0:
            distance[r] = 0
            visit.append(r)
    head = 0
    while head < len(visit):
        node = visit[head]
        head += 1
        for c in children[node]:
            if distance[c] < 0:
                distance[c] = distance[node] + 1
                visit.append(c)
    return distance, visit


def _natural(path: tuple[str, ...]) -> tuple:
    """Sort key putting ``layers.2`` before ``layers.10``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in path)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def plan_collapse(
    children: Sequence[Sequence[int]],
    labels: Sequence[str],
    is_param: Sequence[bool],
    roots: Sequence[int],
    max_nodes: int,
    ops: Sequence[str] | None = None,
    repeats: int | None = None,
) -> Plan | None:
    """How to draw the graph in at most ``max_nodes`` boxes, or None if it fits as it is.

    ``children[i]`` are the indices of node i's inputs (nodes in topological order, inputs
    first); ``labels``/``is_param`` describe the nodes; ``roots`` are never collapsed.
    With ``ops`` (each node's operation) and ``repeats`` (a count), a sum of many same-shaped
    terms (a batch loss over its samples) keeps its first ``repeats`` terms and one box for the
    others, first; what is left is summarised by module if still too large.
    """
    n = len(children)
    if n <= max_nodes:
        return None
    folded = find_repeats(children, ops, is_param, roots, repeats) if ops is not None and repeats else []
    if not folded:
        return _plan_modules(children, labels, is_param, roots, max_nodes)
    hidden = {i for r in folded for i in r.hidden}
    visible = [i for i in range(n) if i not in hidden]
    index = {old: new for new, old in enumerate(visible)}
    sub = _plan_modules(
        [[index[c] for c in children[i] if c in index] for i in visible],
        [labels[i] for i in visible],
        [is_param[i] for i in visible],
        [index[r] for r in roots],
        max_nodes,
        max_groups=_MAX_MODULE_BOXES,
    )
    group_of: list[int | None] = [None] * n
    groups: list[Group] = []
    notes = [f"{n:,} nodes, more than max_nodes={max_nodes}: drawn as a summary."]
    for repeat in folded:
        what = "samples" if repeat.share else "terms"
        others = len(repeat.terms) - repeat.kept
        first = "the first" if repeat.kept == 1 else f"the first {repeat.kept}"
        name = f"… {others:,} more {what}, each like {first} (× {len(repeat.terms):,} in all)"
        gi = len(groups)
        groups.append(Group(name, "repeat", members=list(repeat.hidden), inputs=list(repeat.inputs)))
        for i in repeat.hidden:
            group_of[i] = gi
        notes.append(
            f"A sum of {len(repeat.terms):,} {what} of the same shape: {first} drawn, the other "
            f"{others:,} ({len(repeat.hidden):,} nodes) in one box; draw_dot(repeats=None) draws them all."
        )
    if sub is not None:
        offset = len(groups)
        for sub_group in sub.groups:
            sub_group.members = [visible[m] for m in sub_group.members]
            groups.append(sub_group)
        for new, old in enumerate(visible):
            if sub.group_of[new] is not None:
                group_of[old] = sub.group_of[new] + offset  # type: ignore[operator]
        notes += sub.notes[1:-1]
    notes.append("An edge labelled ×k between boxes stands for k edges.")
    return Plan(group_of, groups, notes)


def _plan_modules(
    children: Sequence[Sequence[int]],
    labels: Sequence[str],
    is_param: Sequence[bool],
    roots: Sequence[int],
    max_nodes: int,
    max_groups: int | None = None,
) -> Plan | None:
    """The summary by module, else by distance from the output (see the module docstring).

    ``max_groups``: use no finer a grouping by module than one of at most this many boxes
    (when some grouping has so few), and even when the graph has at most ``max_nodes`` nodes.
    """
    n = len(children)
    if n <= max_nodes and max_groups is None:
        return None
    root_set = set(roots)
    paths = [module_path(lab) if p else None for lab, p in zip(labels, is_param)]
    owners = module_owners(children, paths, is_param)
    absorbable = [not kids and not p and not lab for kids, p, lab in zip(children, is_param, labels)]
    levels = _module_levels(children, owners, absorbable, root_set)

    chosen: _Level | None = None
    if max_groups is not None:
        few = [lv for lv in levels if lv.n_groups <= max_groups]
        if few:
            levels = few
        elif n <= max_nodes:
            return None  # no grouping that coarse, and every node fits: drawn one by one
    for level in levels:
        if level.n_groups + level.n_single <= max_nodes:
            chosen = level
            break
    by_distance = chosen is None
    if by_distance and levels:
        # Boxes by module for as fine a module as leaves room for the roots and one more box.
        fitting = [lv for lv in levels if lv.n_groups + len(root_set) + 1 <= max_nodes]
        chosen = fitting[0] if fitting else levels[-1]

    group_of: list[int | None] = [None] * n
    groups: list[Group] = []
    notes = [f"{n:,} nodes, more than max_nodes={max_nodes}: drawn as a summary."]

    if chosen is not None:
        coarser = {lv.depth: lv for lv in levels if lv.depth < chosen.depth}
        parent_depth = max(coarser) if coarser else None
        parent_names = (
            {k for k in coarser[parent_depth].keys if k is not None} if parent_depth is not None else set()
        )
        group_index: dict[tuple[str, ...], int] = {}
        for key in sorted({k for k in chosen.keys if k is not None}, key=_natural):
            group_index[key] = len(groups)
            cluster = None
            if parent_depth is not None and len(parent_names) > 1 and len(key) > parent_depth:
                cluster = _dotted(key[:parent_depth])
            groups.append(Group(_dotted(key), "module", cluster=cluster))
        for i, maybe_key in enumerate(chosen.keys):
            if maybe_key is not None:
                gi = group_of[i] = group_index[maybe_key]
                groups[gi].members.append(i)
        held = sum(len(g.members) for g in groups)
        examples = ", ".join(g.name for g in groups[:3]) + (", …" if len(groups) > 3 else "")
        notes.append(
            f"{len(groups)} box{'es' if len(groups) != 1 else ''} hold the {held:,} nodes made by each "
            f"module ({examples}), found from the parameters' dotted labels."
        )

    if by_distance:
        _collapse_by_distance(children, roots, max_nodes, group_of, groups, notes)

    boxes = sum(g is None for g in group_of) + len(groups)
    if boxes > max_nodes:
        notes.append(f"Even this coarsest summary has {boxes} boxes, more than max_nodes={max_nodes}.")
    notes.append("An edge labelled ×k between boxes stands for k edges.")
    return Plan(group_of, groups, notes)


def _collapse_by_distance(
    children: Sequence[Sequence[int]],
    roots: Sequence[int],
    max_nodes: int,
    group_of: list[int | None],
    groups: list[Group],
    notes: list[str],
) -> None:
    """Keep the loose nodes nearest the output; box the rest by their distance from the output."""
    root_set = set(roots)
    distance, visit = _distances(children, roots)
    loose = [i for i in visit if group_of[i] is None and i not in root_set]
    room = max(1, max_nodes - len(groups) - len(root_set))
    n_boxes = min(len(loose), _MAX_DISTANCE_BOXES, max(1, room // 8))
    keep = max(0, min(len(loose) - n_boxes, room - n_boxes))
    rest = loose[keep:]
    if not rest:
        return
    # Split the rest (already ordered by distance) into boxes of whole distances, about equal in size.
    target = len(rest) / n_boxes
    start = 0
    made = 0
    while start < len(rest):
        made += 1
        end = len(rest) if made == n_boxes else min(len(rest), max(start + 1, round(made * target)))
        while end < len(rest) and distance[rest[end]] == distance[rest[end - 1]]:
            end += 1
        members = rest[start:end]
        near, far = distance[members[0]], distance[members[-1]]
        name = (
            f"distance {near} from the output" if near == far else f"distances {near}–{far} from the output"
        )
        gi = len(groups)
        groups.append(Group(name, "distance", members=sorted(members)))
        for i in members:
            group_of[i] = gi
        start = end
    boxed = len(rest)
    notes.append(
        f"{made} box{'es' if made != 1 else ''} hold {boxed:,} nodes far from the output, by their distance "
        f"(in edges) from it; the {keep + len(root_set):,} nodes nearest the output are drawn one by one."
    )


# ---------------------------------------------------------------------- repeated terms of a sum
# A batch loss adds up one term per sample: `sum(losses)` in Python makes a chain of `+` nodes,
# `value_sum` one node with every term as input. The terms have the same shape (the model applied
# to each sample), so the drawing shows the first few and one box for the rest.

#: Sums with fewer repeated terms than this are drawn whole.
MIN_REPEATS = 4
# Once a batch loss is down to one sample, its modules are boxed no finer than this many boxes
# (a network's layers rather than its neurons): the picture of the whole loss fits one screen.
_MAX_MODULE_BOXES = 8

_SUM_OPS = ("+", "sum")


@dataclass
class Repeat:
    """The same-shaped terms of one sum, and which of its nodes the drawing leaves out."""

    terms: list[int]  # the repeated terms, in the order they are added
    kept: int  # how many of them (the first) are drawn
    hidden: list[int]  # the nodes the box stands for: the other terms' own nodes, the sums adding them
    inputs: list[int]  # drawn nodes whose edge into the box is drawn (the running sum before it)
    share: bool  # whether the terms share nodes (a model's parameters): the samples of a batch


def _shapes(children: Sequence[Sequence[int]], ops: Sequence[str], is_param: Sequence[bool]) -> list[int]:
    """A number per node, equal for nodes computed by the same operations from the same kinds
    of leaves (parameter or not) in the same places: a hash of the graph below it, inputs first."""
    ids: dict[tuple, int] = {}
    shape: list[int] = []
    for i, kids in enumerate(children):
        key = (ops[i], tuple(shape[c] for c in kids)) if kids else ("leaf", is_param[i])
        shape.append(ids.setdefault(key, len(ids)))
    return shape


def find_repeats(
    children: Sequence[Sequence[int]],
    ops: Sequence[str],
    is_param: Sequence[bool],
    roots: Sequence[int],
    keep: int,
) -> list[Repeat]:
    """Every sum (a chain of ``+`` nodes, or one ``sum`` node) with at least ``MIN_REPEATS``
    same-shaped terms, more than ``keep``; the first ``keep`` terms are drawn, the rest boxed.

    ``children`` as in :func:`plan_collapse`; ``ops[i]`` is node i's operation ("" for leaves).
    """
    n = len(children)
    readers: list[list[int]] = [[] for _ in range(n)]
    for i, kids in enumerate(children):
        for c in kids:
            readers[c].append(i)
    is_sum = [bool(kids) and str(op) in _SUM_OPS for kids, op in zip(children, ops)]

    def below(i: int) -> int | None:
        """The sum that node i continues: an input that is a sum read by node i alone (the left one first)."""
        if not is_sum[i] or len(children[i]) != 2:
            return None
        for c in children[i]:
            if is_sum[c] and readers[c] == [i] and len(children[c]) >= 2 and c not in roots:
                return c
        return None

    down = [below(i) for i in range(n)]
    continued = {d for d in down if d is not None}
    shape = _shapes(children, ops, is_param)
    repeats: list[Repeat] = []
    for top in range(n):
        if not is_sum[top] or top in continued:
            continue
        chain = [top]  # top first, then down to the first addition
        while down[chain[-1]] is not None:
            chain.append(down[chain[-1]])  # type: ignore[arg-type]
        chain.reverse()
        # The terms in the order they are added, each with the sum that adds it.
        added: list[tuple[int, int]] = []
        for s in chain:
            added += [(t, s) for t in children[s] if t != down[s] or down[s] is None]
        counts: dict[int, int] = {}
        for t, _ in added:
            if children[t]:  # a leaf is drawn as it is: boxing it saves nothing
                counts[shape[t]] = counts.get(shape[t], 0) + 1
        if not counts:
            continue
        common = max(counts, key=lambda k: (counts[k], -k))
        if counts[common] < max(MIN_REPEATS, keep + 2):
            continue
        terms = [t for t, _ in added if shape[t] == common and children[t]]
        if len(set(terms)) != len(terms):
            continue  # one node added twice: not a sum over samples
        hidden_terms = set(terms[keep:])
        # Sums of the chain are boxed when every term they add is boxed; the top stays (the total).
        adders: dict[int, list[int]] = {}
        for t, s in added:
            adders.setdefault(s, []).append(t)
        hidden_sums = {s for s in chain[:-1] if all(t in hidden_terms for t in adders[s])}
        boxed = hidden_sums | hidden_terms
        inputs = sorted({c for s in hidden_sums for c in children[s] if c not in boxed})
        repeats.append(Repeat(terms, keep, sorted(boxed), inputs, False))
    if not repeats:
        return []
    # What the boxes stand for: everything the roots reach only through boxed nodes.
    cut = {i for r in repeats for i in r.hidden}
    seen = [False] * n
    # Drawn: what the roots reach around the boxes, and what the running sum entering a box
    # (the first terms, added before it) reaches.
    stack = list(dict.fromkeys(i for i in [*roots, *(c for r in repeats for c in r.inputs)] if i not in cut))
    for r in stack:
        seen[r] = True
    while stack:
        for c in children[stack.pop()]:
            if not seen[c] and c not in cut:
                seen[c] = True
                stack.append(c)
    for repeat in repeats:
        members: set[int] = set(repeat.hidden)
        stack = list(repeat.hidden)
        while stack:
            for c in children[stack.pop()]:
                if not seen[c] and c not in members:
                    members.add(c)
                    stack.append(c)
        repeat.hidden = sorted(members)
        # Terms that read nodes drawn with the first term (the model's parameters) are samples.
        kept_reach = _reach(children, repeat.terms[: repeat.kept])
        repeat.share = any(seen[c] and c in kept_reach for i in repeat.hidden for c in children[i])
    return repeats


def _reach(children: Sequence[Sequence[int]], starts: Sequence[int]) -> set[int]:
    found = set(starts)
    stack = list(starts)
    while stack:
        for c in children[stack.pop()]:
            if c not in found:
                found.add(c)
                stack.append(c)
    return found
