"""Pickle, deepcopy and copy.copy of Values: a graph is saved as a table, never by recursion.

Why this exists: left to themselves, pickle and deepcopy follow a Value's operands one call
level per graph level, and a 1,000-deep graph (``sum()`` of 1,000 Values) is already too deep
for them. So a Value that has operands is saved with its graph's `_Graph` table instead of its
operands. It also reads the format of 0.1.0 before creation numbers. `node.Node`, Value's
base, takes `get_state`, `set_state` and `copy_node` as ``__getstate__``, ``__setstate__`` and
``__copy__`` from here (the package imports this module), and the names 0.1.0's pickles and
imports found in ``microgradx.engine`` are put back there: this module depends on the engine,
never the reverse. Nothing here is needed to read the math.
"""

from __future__ import annotations

import pickle
import threading
import weakref
from typing import TYPE_CHECKING

from microgradx import engine, functions
from microgradx.node import Node

if TYPE_CHECKING:
    from microgradx.engine import Value


class _Graph:
    """Part of a graph as a table, for pickle and deepcopy: its nodes oldest first, and for each
    node the table links, the positions of its operands in that list (None for a leaf, or for
    a node that another table links; earlier versions wrote -1 for no second operand).

    Every node a table links refers to that table in its state, so pickle and deepcopy save the
    table once and never recurse through operands. A table stops at nodes that a table already
    being saved links, so Values saved together cost their graph once. Loading a table links the
    new nodes it lists and numbers them oldest first. (The class's module and name are part of
    the pickle format: pickles name it ``microgradx.engine._Graph``, which is set there below.)
    """

    __module__ = "microgradx.engine"
    __slots__ = ("__weakref__", "nodes", "operands")

    def __init__(self, root: Value, saving: weakref.WeakValueDictionary) -> None:
        # Not `engine.topological_order`: this one stops at the nodes `saving` links.
        nodes, found = [root], {root}
        for node in nodes:  # every node once, down to nodes `saving` links (the list grows as it runs)
            if node not in saving:
                for operand in node._parents:
                    if operand not in found:
                        found.add(operand)
                        nodes.append(operand)
        nodes.sort(key=_creation)
        position = {node: i for i, node in enumerate(nodes)}
        self.nodes = nodes
        self.operands = [
            None if not n._parents or n in saving else tuple(position[p] for p in n._parents)
            for n in nodes
        ]
        saving.update((n, self) for n, links in zip(nodes, self.operands, strict=True) if links is not None)

    @staticmethod
    def of(node: Value) -> _Graph:
        """The table that links `node`: the one being saved, else a new one."""
        graph = _saving.tables.get(node)
        return _Graph(node, _saving.tables) if graph is None else graph

    def __getstate__(self) -> tuple:
        return self.nodes, self.operands

    def __setstate__(self, state: tuple) -> None:
        self.nodes, self.operands = nodes, operands = state
        for node, links in zip(nodes, operands, strict=True):
            if links is not None and not hasattr(node, "_parents"):  # not one a deepcopy memo gave back
                node._parents = tuple(nodes[i] for i in links if i >= 0)
            if getattr(node, "_seq", None) is None:  # not numbered yet (by its own state or a table)
                node._seq = engine.next_creation_number()


_Graph.__qualname__ = "_Graph"


def _creation(node: Value) -> int:
    return node._seq


class _Saving(threading.local):
    """The tables being saved in this thread, by the nodes they link. An entry lasts as long as
    its table, which pickle's or deepcopy's memo keeps alive while they save."""

    def __init__(self) -> None:
        self.tables: weakref.WeakValueDictionary[Value, _Graph] = weakref.WeakValueDictionary()


_saving = _Saving()


# Loaded and copied Values get creation numbers of their own, operands first, so "operands are
# older" holds for them too.
def get_state(node: Value) -> dict:
    """``Value.__getstate__``: data, grad, label, op, and the graph table if it has operands."""
    state = {"data": node.data, "grad": node.grad, "label": node._label, "op": node.op}
    if node._parents:
        state["graph"] = _Graph.of(node)
    return state


def set_state(node: Value, state: dict | tuple) -> None:
    """``Value.__setstate__``, for every format saved so far."""
    if isinstance(state, tuple):  # pickled by 0.1.0 before creation numbers: (None, its slots)
        slots = state[1]
        parents = (*slots.get("parents", ()), None, None)
        state = {"data": slots["data"], "grad": slots["grad"], "label": slots.get("_label", ""),
                 "op": slots.get("op", ""), "a": parents[0], "b": parents[1]}
    op = state["op"]
    if op and op not in engine.RULES:  # an op of your own, saved in a session that had made it
        raise pickle.UnpicklingError(
            f"this graph uses the op {op!r}, which is not made in this session: run "
            f"microgradx.custom_op({op!r}, ...) as in the session that saved it, then load it again"
        )
    node.data, node.grad, node._label, node.op = state["data"], state["grad"], state["label"], op
    if "graph" not in state:  # a leaf, or saved with its operands (before graph tables)
        node._parents = tuple(p for p in (state.get("a"), state.get("b")) if p is not None)
        if getattr(node, "_seq", None) is None:  # (a table may have numbered it already)
            node._seq = engine.next_creation_number()
    # else its _Graph links and numbers it


def copy_node(node: Value) -> Value:
    """`copy.copy`: a new node with this one's data, grad, label and operands."""
    out = engine.Value.__new__(engine.Value)
    out.data, out.grad, out._label, out.op = node.data, node.grad, node._label, node.op
    out._parents = node._parents
    out._seq = engine.next_creation_number()
    return out


# pickle, deepcopy, copy.copy: a graph is saved as a table, never by recursion
Node.__getstate__, Node.__setstate__, Node.__copy__ = get_state, set_state, copy_node

# What 0.1.0's pickles and imports find in microgradx.engine: the graph table and the functions.
engine._Graph = _Graph
for _name in functions.__all__:
    setattr(engine, _name, getattr(functions, _name))
engine.__all__ = sorted({*engine.__all__, *functions.__all__})
