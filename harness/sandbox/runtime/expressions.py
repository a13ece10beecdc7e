"""AlgaPSA workflow expressions: JSONata with AlgaPSA's rewrites, allowlist, functions and limits.

Built on jsonata-python, with fixes where the port differs from jsonata-js (string conversion in
`&`, `%` on fractions, surrogate escapes in literals, null versus undefined in results).
Function calls are checked on the parsed AST, so words followed by `(` inside string literals
or after `and`/`or` are not mistaken for calls.
"""
from __future__ import annotations

import decimal
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from jsonata import Jsonata
from jsonata.parser import Parser
from jsonata.utils import Utils

ALLOWED_FUNCTIONS = frozenset({"nowIso", "coalesce", "len", "toString", "append"})
MAX_OUTPUT_CHARS = 256 * 1024
DEFAULT_TIMEOUT_MS = 1000.0
"""Evaluation time limit; AlgaPSA uses 25 ms, which is too tight for a Python engine."""

_NULL = Utils.NULL_VALUE  # JSONata null inside jsonata-python; Python None means "undefined"
_CALL_PREFIX = re.compile(r"(?<![.$A-Za-z0-9_])(nowIso|coalesce|len|toString|append)(?=\s*\()")


class ExpressionError(Exception):
    """An expression or mapping failure, with the runtime error category it maps to.

    ``path`` is the JSON pointer of the mapping entry that failed, when there is one.
    """

    def __init__(self, message: str, *, path: str | None = None, category: str = "ExpressionError") -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.category = category


class EvaluationTimeout(ExpressionError):
    """The time limit was exceeded (``Expression evaluation exceeded <limit>ms``)."""


class _Undefined:
    """A JavaScript ``undefined`` kept inside an array (only `append` can produce one)."""


_UNDEFINED = _Undefined()


class _NotJson(Exception):
    pass


# --- public API ---------------------------------------------------------------------------------

def evaluate(source: str, context: dict[str, Any], *, timeout_ms: float | None = None) -> Any:
    """Evaluate AlgaPSA expression ``source`` against ``context``; returns plain JSON data.

    ``timeout_ms`` defaults to the module setting DEFAULT_TIMEOUT_MS.
    """
    engine = compile_expression(source)
    limit = DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
    overrun = f"Expression evaluation exceeded {limit:g}ms"
    deadline = time.perf_counter() + limit / 1000

    def check_deadline(*_node: Any) -> None:
        if time.perf_counter() > deadline:
            raise EvaluationTimeout(overrun)

    # jsonata-python evaluates through a per-thread "current" instance (the last one built on the
    # thread); pin ours so the jsonata-js fixes in _Engine always apply.
    Jsonata.CURRENT.jsonata = engine
    try:
        # "__evaluate_entry" runs before every AST node, so a runaway expression stops at the limit
        # (AlgaPSA only measures afterwards; the message is the same).
        raw = engine.evaluate(context, {"__evaluate_entry": check_deadline})
    except Exception as exc:
        # jsonata-python re-wraps some exceptions (e.g. inside `and`), so trust the clock.
        if time.perf_counter() > deadline:
            raise EvaluationTimeout(overrun) from exc
        if isinstance(exc, ExpressionError):
            raise
        raise ExpressionError(str(exc) or type(exc).__name__) from exc
    if time.perf_counter() > deadline:
        raise EvaluationTimeout(overrun)
    return _result(raw)


def is_expr(value: Any) -> bool:
    """True for an Expr object: a dict whose ``$expr`` is a string (other keys are ignored)."""
    return isinstance(value, dict) and isinstance(value.get("$expr"), str)


def is_secret_ref(value: Any) -> bool:
    """True for ``{"$secret": "<non-empty name>"}`` with no other key."""
    return (isinstance(value, dict) and len(value) == 1
            and isinstance(value.get("$secret"), str) and value["$secret"] != "")


def resolve_mapping(
    value: Any,
    context: dict[str, Any],
    *,
    secret_resolver: Callable[[str], Any] | None = None,
    pointer: str = "",
    timeout_ms: float | None = None,
) -> Any:
    """Resolve a mapping value (§2.1): Expr, secret ref, or a literal walked recursively.

    Failures carry ``path``, the JSON pointer of the failing entry below ``pointer``. ``timeout_ms``
    is each expression's time limit (default: DEFAULT_TIMEOUT_MS).
    """
    if is_expr(value):
        try:
            return evaluate(value["$expr"], context, timeout_ms=timeout_ms)
        except ExpressionError as exc:
            raise type(exc)(exc.message, path=pointer or None, category=exc.category) from exc
    if is_secret_ref(value):
        return _resolve_secret(value["$secret"], secret_resolver, pointer)
    if isinstance(value, dict):
        return {
            key: resolve_mapping(item, context, secret_resolver=secret_resolver,
                                 pointer=f"{pointer}/{escape_pointer(key)}", timeout_ms=timeout_ms)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            resolve_mapping(item, context, secret_resolver=secret_resolver, pointer=f"{pointer}/{index}",
                            timeout_ms=timeout_ms)
            for index, item in enumerate(value)
        ]
    return value


def escape_pointer(segment: str) -> str:
    """Escape one JSON-pointer segment (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")


def now_iso() -> str:
    """Current UTC time like JavaScript's ``Date#toISOString`` (milliseconds, ``Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _resolve_secret(name: str, resolver: Callable[[str], Any] | None, pointer: str) -> Any:
    try:
        if resolver is None:
            raise LookupError(f"Secret resolution not available in this context: {name}")
        return resolver(name)
    except Exception as exc:
        raise ExpressionError(f'Failed to resolve secret "{name}": {exc}',
                              path=pointer or None, category="ActionError") from exc


# --- compilation and validation -----------------------------------------------------------------

class _Engine(Jsonata):
    """jsonata-python with jsonata-js semantics for `&` and `%`."""

    def evaluate_string_concat(self, lhs: Any, rhs: Any) -> str:
        return ("" if lhs is None else _jsonata_string(lhs)) + ("" if rhs is None else _jsonata_string(rhs))

    def evaluate_numeric_expression(self, lhs: Any, rhs: Any, op: Any) -> Any:
        if op == "%" and Utils.is_numeric(lhs) and Utils.is_numeric(rhs):
            return Utils.convert_number(math.fmod(lhs, rhs))  # the port truncates to an integer
        return super().evaluate_numeric_expression(lhs, rhs, op)


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> _Engine:
    normalized = _CALL_PREFIX.sub(r"$\1", source.replace("==", "="))
    try:
        engine = _Engine(normalized)
    except Exception as exc:
        raise ExpressionError(str(exc) or type(exc).__name__) from exc
    _inspect(engine.ast)
    engine.set_validate_input(False)  # contexts are JSON already; the check walks the whole input
    engine.set_output_convert_nulls(False)  # keep null (NULL_VALUE) apart from undefined (None)
    for name, function in _FUNCTIONS.items():
        engine.register_lambda(name, function)
    return engine


def _inspect(ast: Parser.Symbol) -> None:
    """Reject calls outside the allowlist; repair surrogate pairs written as ``\\uXXXX`` escapes."""
    seen: set[int] = set()
    stack = [ast]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kind = getattr(node, "type", None)
        if kind in ("function", "partial"):
            _require_allowed(_callee(node.procedure))
        elif kind == "lambda":
            _require_allowed("function")
        elif kind == "apply" and getattr(node.rhs, "type", None) not in ("function", "partial", "lambda"):
            _require_allowed(_callee(node.rhs))
        elif kind == "string" and isinstance(node.value, str):
            node.value = node.value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        stack.extend(_symbols(vars(node).values()))


def _symbols(values: Any) -> Iterator[Parser.Symbol]:
    for value in values:
        if isinstance(value, Parser.Symbol):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from _symbols(value)


def _callee(procedure: Any) -> str:
    kind = getattr(procedure, "type", None)
    if kind == "variable":
        return str(procedure.value)
    if kind == "lambda":
        return "function"
    steps = getattr(procedure, "steps", None) if kind == "path" else None
    if steps and len(steps) == 1 and getattr(steps[0], "type", None) == "name":
        return str(steps[0].value)
    return "(computed)"


def _require_allowed(name: str) -> None:
    if name not in ALLOWED_FUNCTIONS:
        raise ExpressionError(f"Expression uses disallowed function: {name}")


# --- custom functions (called with jsonata-python's internal values) ----------------------------

def _coalesce(*args: Any) -> Any:
    return next((arg for arg in args if arg is not None and arg is not _NULL), _NULL)


def _len(value: Any = None, *_: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-16-le", "surrogatepass")) // 2
    return len(value) if isinstance(value, list) else 0


def _to_string(value: Any = None, *_: Any) -> str:
    return js_string(value)


def _append(items: Any = None, value: Any = None, *_: Any) -> list[Any]:
    base = list(items) if isinstance(items, list) else [] if items is None or items is _NULL else [items]
    added = list(value) if isinstance(value, list) else [_UNDEFINED if value is None else value]
    return base + added


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "nowIso": lambda *_: now_iso(),
    "coalesce": _coalesce,
    "len": _len,
    "toString": _to_string,
    "append": _append,
}


# --- JavaScript value formatting ----------------------------------------------------------------

def _js_number(value: int | float) -> str:
    """JavaScript ``Number#toString``: shortest round-trip digits, exponent outside [1e-7, 1e21)."""
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    number = float(value)
    if number == 0:
        return "0"
    parts = decimal.Decimal(repr(abs(number))).as_tuple()
    digits = "".join(map(str, parts.digits)).rstrip("0")
    point = int(parts.exponent) + len(parts.digits)  # value = 0.<digits> * 10**point
    count = len(digits)
    if count <= point <= 21:
        text = digits + "0" * (point - count)
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        exponent = point - 1
        mantissa = digits[0] + (f".{digits[1:]}" if count > 1 else "")
        text = f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    return "-" + text if number < 0 else text


def js_string(value: Any) -> str:
    """JavaScript ``String(value)``, with null and undefined as "" (as `toString` and `join` do)."""
    if value is None or value is _NULL or value is _UNDEFINED:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, list):
        return ",".join(js_string(item) for item in value)
    return "[object Object]"


def _jsonata_string(value: Any) -> str:
    """jsonata-js ``$string``: strings as-is, functions "", else JSON with 15-digit numbers."""
    if isinstance(value, str):
        return value
    return "" if _is_function(value) else _jsonata_json(value)


def _jsonata_json(value: Any) -> str:
    if value is None or value is _NULL or value is _UNDEFINED:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _js_number(float(format(value, ".15g")))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_jsonata_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(
            f"{json.dumps(key, ensure_ascii=False)}:{_jsonata_json(item)}" for key, item in value.items()
        ) + "}"
    return '""'  # functions (and regexes) become "" like jsonata-js's JSON.stringify replacer


def _is_function(value: Any) -> bool:
    return isinstance(value, (Jsonata.JFunctionCallable, Parser.Symbol))


# --- results ------------------------------------------------------------------------------------

def _result(raw: Any) -> Any:
    try:
        result = _plain(raw)
    except _NotJson:
        raise ExpressionError("Expression result is not JSON-serializable") from None
    if isinstance(result, (str, list, dict)):
        if len(json.dumps(result, ensure_ascii=False, separators=(",", ":"))) > MAX_OUTPUT_CHARS:
            raise ExpressionError("Expression result exceeded max output size")
    return result


def _plain(value: Any) -> Any:
    """Copy a jsonata-python value into plain JSON data; a top-level None is "undefined".

    None inside arrays and objects comes from the input document and means null.
    """
    if value is _NULL:
        return None
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, list):
        return [None if item is None else _plain(item) for item in value]
    if isinstance(value, dict):
        return {key: None if item is None else _plain(item) for key, item in value.items()}
    raise _NotJson
