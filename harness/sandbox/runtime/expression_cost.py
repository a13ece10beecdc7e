"""Which expressions are cheap enough to evaluate on the event loop.

An expression runs inline only when every node is one whose own work is linear in its operands
(field paths, literals, arithmetic, comparison, ``&``, conditions, array and object constructors,
``coalesce``/``len``/``nowIso``), the tree is small, and the evaluation context is small. Then no
single node can work on more than ``MAX_NODES × MAX_CONTEXT_BYTES`` of data, and the evaluator's
between-node check stops the whole thing after ``INLINE_BUDGET_MS`` (the caller then moves it to a
worker process). Ranges, sorting, grouping, regular expressions, variable binding, wildcards,
``toString`` and ``append`` (loops over whole values) always go to a worker.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonata.parser import Parser

from .expressions import ExpressionError, compile_expression

INLINE_BUDGET_MS = 5.0
MAX_SOURCE_CHARS = 1000
MAX_NODES = 32
MAX_CONTEXT_BYTES = 16 * 1024
"""Approximate data size (string lengths, 8 bytes per other value) of the largest inline context."""

_BINARY = frozenset({"&", "=", "!=", "<", "<=", ">", ">=", "and", "or", "+", "-", "*", "/", "%", "in"})
_FUNCTIONS = frozenset({"coalesce", "len", "nowIso"})
_CHILDREN: dict[str, tuple[str, ...]] = {
    "path": ("steps",), "name": ("stages",), "filter": ("expr",), "binary": ("lhs", "rhs"),
    "condition": ("condition", "then", "_else"), "block": ("expressions",), "function": ("arguments",),
    "unary": ("expression", "expressions", "lhs"), "string": (), "number": (), "value": (), "variable": (),
}
# Set on a node only by constructs that are never inline (grouping, focus/index binding, parents, ...).
_NEVER_SET = ("group", "focus", "index", "tuple", "ancestor", "seeking_parent", "predicate", "pattern", "update",
              "delete", "body", "procedure", "expr", "stages", "expression", "expressions", "lhs", "rhs",
              "condition", "then", "_else", "arguments", "steps")


def runs_inline(source: str, context: Any) -> bool:
    """True when ``source`` over ``context`` may be evaluated on the event loop (within the budget)."""
    return len(source) <= MAX_SOURCE_CHARS and _cheap_tree(source) and _small(context)


@lru_cache(maxsize=4096)
def _cheap_tree(source: str) -> bool:
    try:
        ast = compile_expression(source).ast
    except ExpressionError:
        return True  # fails at compile time: cheap, and the error is the same everywhere
    nodes = 0
    stack: list[Any] = [ast]
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > MAX_NODES or not _cheap_node(node):
            return False
        for name in _CHILDREN[node.type]:
            stack.extend(_symbols(getattr(node, name, None)))
    return True


def _cheap_node(node: Any) -> bool:
    if not isinstance(node, Parser.Symbol) or node.type not in _CHILDREN:
        return False
    allowed = _CHILDREN[node.type] + (("procedure",) if node.type == "function" else ())
    if any(getattr(node, name, None) for name in _NEVER_SET if name not in allowed):
        return False
    if node.type == "binary":
        return node.value in _BINARY
    if node.type == "unary":
        return node.value in ("-", "[", "{")
    if node.type == "function":
        return getattr(node.procedure, "type", None) == "variable" and node.procedure.value in _FUNCTIONS
    if node.type == "name":
        return all(getattr(stage, "type", None) == "filter" for stage in node.stages or [])
    if node.type == "filter":
        return getattr(node.expr, "type", None) == "number"
    return True


def _symbols(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _symbols(item)]
    return [value]


def _small(context: Any) -> bool:
    """Whether ``context`` holds at most MAX_CONTEXT_BYTES of data (stops counting once past it)."""
    remaining = MAX_CONTEXT_BYTES
    stack = [context]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            remaining -= len(value)
        elif isinstance(value, dict):
            remaining -= 8 + sum(len(key) for key in value)
            stack.extend(value.values())
        elif isinstance(value, list):
            remaining -= 8
            stack.extend(value)
        else:
            remaining -= 8
        if remaining < 0:
            return False
    return True
