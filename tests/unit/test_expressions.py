"""The sandbox expression engine (contract §2) and assignment paths (§3.6, §3.7.5)."""
from __future__ import annotations

import re
from typing import Any

import pytest

from harness.sandbox.runtime import expressions
from harness.sandbox.runtime.expressions import ExpressionError, evaluate, is_expr, resolve_mapping
from harness.sandbox.runtime.paths import assign_path, save_as_path

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def context(**payload: Any) -> dict[str, Any]:
    return {"payload": payload, "vars": {}, "meta": {}, "error": None}


CTX = context(
    ticketId="T-1", arr=["only"], fixtureNotifyUserId="u-1", addedTagIds=["tag-1", "tag-2"],
    fixtureBillingTagId="tag-1", nothing=None, items=[1, None, 2], rows=[{"v": 1}, {"v": 2}],
)


def fails(source: str, ctx: dict[str, Any] = CTX, **kwargs: Any) -> str:
    with pytest.raises(ExpressionError) as info:
        evaluate(source, ctx, **kwargs)
    assert info.value.category == "ExpressionError"
    return info.value.message


# --- §2.4 behaviour table -----------------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("'a' & payload.missing", "a"),
    ("'a' & null", "anull"),
    ("'a' & 5", "a5"),
    ("'a' & true", "atrue"),
    ("(payload.fixtureMode ? payload.fixtureMode : 'notify') = 'notify'", True),
    ("payload.missing = 'x'", False),
    ("payload.missing != 'x'", False),
    ("[payload.missing]", []),
    ('{ "user_ids": [payload.fixtureNotifyUserId] }', {"user_ids": ["u-1"]}),
    ('{ "k": payload.missing }', {}),
    ("payload.arr", ["only"]),
    ("payload.addedTagIds[0] = payload.fixtureBillingTagId", True),
    ("1.0 & ''", "1"),
    ("0.1+0.2 & ''", "0.3"),
])
def test_behaviour_table(source: str, expected: Any) -> None:
    assert evaluate(source, CTX) == expected


@pytest.mark.parametrize("falsy", ["null", "''", "0", "[]", "{}", "payload.missing"])
def test_falsy_values_pick_the_else_branch(falsy: str) -> None:
    assert evaluate(f"{falsy} ? 'then' : 'else'", CTX) == "else"


def test_nulls_and_arrays_from_the_input() -> None:
    assert evaluate("payload.nothing", CTX) is None
    assert evaluate("payload.nothing = null", CTX) is True
    assert evaluate("payload.items", CTX) == [1, None, 2]
    assert evaluate("payload.items[1]", CTX) is None
    assert evaluate("payload.rows.v", CTX) == [1, 2]
    assert evaluate("payload.rows[0].v", CTX) == 1
    assert evaluate("{ 'k': payload.nothing }", CTX) == {"k": None}


def test_results_are_plain_copies() -> None:
    result = evaluate("payload.rows", CTX)
    assert type(result) is list and type(evaluate("[payload.ticketId]", CTX)) is list
    result[0]["v"] = 99
    assert CTX["payload"]["rows"][0]["v"] == 1
    assert evaluate("payload.x", context(x=2.0)) == 2 and type(evaluate("payload.x", context(x=2.0))) is int
    assert evaluate("4 / 2", CTX) == 2 and evaluate("5 / 2", CTX) == 2.5


# --- pre-processing -----------------------------------------------------------------------------

def test_double_equals_is_rewritten_everywhere() -> None:
    assert evaluate("payload.ticketId == 'T-1'", CTX) is True
    assert evaluate("'a==b'", CTX) == "a=b"  # a plain text replace, string literals included
    assert "unary operator" in fails("payload.ticketId === 'T-1'")


def test_bare_allowlisted_names_get_a_dollar() -> None:
    assert evaluate("coalesce (payload.missing, 'x')", CTX) == "x"
    assert evaluate("$coalesce(payload.missing, 'x')", CTX) == "x"
    assert evaluate("'len(x)'", CTX) == "$len(x)"  # rewritten inside strings too
    assert evaluate("'mylen(x)'", CTX) == "mylen(x)"
    assert "non-function" in fails("payload.len(1)")  # not rewritten after '.', so `len` is a field


# --- allowlist ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "name"), [
    ("$string(1)", "string"),
    ("$count([])", "count"),
    ("string(1)", "string"),
    ("$exists(payload.ticketId)", "exists"),
    ("$lowercase(payload.ticketId) = 't-1'", "lowercase"),
    ("coalesce($sum([1]), 0)", "sum"),
    ("payload.rows.$string(v)", "string"),
    ("payload.ticketId ~> $uppercase", "uppercase"),
    ("function($x) { $x }(1)", "function"),
    ("(payload.ticketId)(1)", "(computed)"),
    ("payload ~> |x|{}|", "(computed)"),
])
def test_only_allowlisted_functions_may_be_called(source: str, name: str) -> None:
    assert fails(source) == f"Expression uses disallowed function: {name}"


def test_allowlist_looks_at_calls_not_text() -> None:
    assert evaluate("'see $string(x) and foo(y)'", CTX) == "see $string(x) and foo(y)"
    assert evaluate("true and (payload.ticketId = 'T-1')", CTX) is True
    assert evaluate("payload.arr ~> $len", CTX) == 1


def test_syntax_errors_are_expression_errors() -> None:
    assert fails("")
    assert fails("payload.(")


# --- custom functions ---------------------------------------------------------------------------

def test_now_iso() -> None:
    assert ISO_MS.match(evaluate("nowIso()", CTX))


def test_coalesce() -> None:
    ctx = {"payload": {}, "vars": {"caught": {"message": None}}, "meta": {}, "error": None}
    assert evaluate("coalesce(vars.caught.message, 'unknown')", ctx) == "unknown"
    assert evaluate("coalesce(vars.nope.message, payload.missing, 'unknown')", ctx) == "unknown"
    assert evaluate("coalesce(payload.missing, null)", ctx) is None
    assert evaluate("coalesce()", ctx) is None
    assert evaluate("coalesce(null, false, 1)", ctx) is False
    assert evaluate("coalesce(null, 0)", ctx) == 0
    assert evaluate("coalesce(null, '')", ctx) == ""


@pytest.mark.parametrize(("source", "expected"), [
    ("len('abc')", 3),
    ("len('')", 0),
    ("len('\U0001F600')", 2),  # JavaScript counts UTF-16 code units
    ("len('\\ud83d\\ude00')", 2),
    ("len(payload.arr)", 1),
    ("len(payload.addedTagIds)", 2),
    ("len([])", 0),
    ("len(payload.missing)", 0),
    ("len(null)", 0),
    ("len(42)", 0),
    ("len({'a': 1})", 0),
    ("len()", 0),
])
def test_len(source: str, expected: int) -> None:
    assert evaluate(source, CTX) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("toString(payload.missing)", ""),
    ("toString(null)", ""),
    ("toString('x')", "x"),
    ("toString(true)", "true"),
    ("toString(false)", "false"),
    ("toString(42)", "42"),
    ("toString(1.5)", "1.5"),
    ("toString(0.1 + 0.2)", "0.30000000000000004"),
    ("toString(100000000000000000000)", "100000000000000000000"),
    ("toString(1e21)", "1e+21"),
    ("toString(0.000001)", "0.000001"),
    ("toString(1.5e-7)", "1.5e-7"),
    ("toString(-2.5)", "-2.5"),
    ("toString({'a': 1})", "[object Object]"),
    ("toString([1, 'a', null, [2, 3], {'b': 1}])", "1,a,,2,3,[object Object]"),
    ("toString([])", ""),
    ("toString(payload.arr)", "only"),
])
def test_to_string_follows_javascript_string(source: str, expected: str) -> None:
    assert evaluate(source, CTX) == expected


def test_append() -> None:
    assert evaluate("append(payload.addedTagIds, 'tag-3')", CTX) == ["tag-1", "tag-2", "tag-3"]
    assert evaluate("append(payload.arr, ['a', 'b'])", CTX) == ["only", "a", "b"]
    assert evaluate("append(payload.missing, 1)", CTX) == [1]
    assert evaluate("append(null, [1, 2])", CTX) == [1, 2]
    assert evaluate("append('x', 'y')", CTX) == ["x", "y"]
    assert evaluate("append(payload.arr, null)", CTX) == ["only", None]
    assert evaluate("append([], 'one')", CTX) == ["one"]  # a one-element result stays an array
    assert CTX["payload"]["arr"] == ["only"]
    # JavaScript appends `undefined`, which the result check rejects
    assert fails("append(payload.arr, payload.missing)") == "Expression result is not JSON-serializable"
    assert evaluate("len(append([], payload.missing))", CTX) == 1


# --- result checks and limits -------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "payload.missing", "vars.fixtureIsVip", "payload.missing > 1", "payload.missing ? 1", "$string", "{'f': $string}",
    "|x|{}|",
])
def test_undefined_and_function_results_are_rejected(source: str) -> None:
    assert fails(source) == "Expression result is not JSON-serializable"


def test_output_size_limit() -> None:
    limit = expressions.MAX_OUTPUT_CHARS
    assert len(evaluate("payload.text", context(text="x" * (limit - 2)))) == limit - 2  # quotes count
    assert fails("payload.text", context(text="x" * (limit - 1))) == "Expression result exceeded max output size"
    assert fails("[1..60000]") == "Expression result exceeded max output size"


def test_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    slow = "[1..200000].($ * 2)"
    assert fails(slow, timeout_ms=5) == "Expression evaluation exceeded 5ms"
    monkeypatch.setattr(expressions, "DEFAULT_TIMEOUT_MS", 3)
    assert fails(slow) == "Expression evaluation exceeded 3ms"
    assert evaluate("'fast'", CTX) == "fast"


def test_runtime_errors_are_expression_errors() -> None:
    assert "must evaluate to a number" in fails("payload.ticketId + 1")
    assert fails("1 / 0")


# --- jsonata-python differences fixed by the wrapper --------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("-7.5 % 2", -1.5),
    ("5.5 % 2", 1.5),
    ("7 % 3", 1),
    ("[0.1 + 0.2, 1] & ''", "[0.3,1]"),
    ("{'k': 'é'} & ''", '{"k":"é"}'),
    ("1234567890123456 & ''", "1234567890123460"),
    ("1e16 & ''", "10000000000000000"),
    ("1e21 & ''", "1e+21"),
    ("1/3 & ''", "0.333333333333333"),
    ("'\\ud83d\\ude00'", "\U0001F600"),
])
def test_jsonata_js_semantics(source: str, expected: Any) -> None:
    assert evaluate(source, CTX) == expected


# --- mappings -----------------------------------------------------------------------------------

def test_is_expr() -> None:
    assert is_expr({"$expr": "1"}) and is_expr({"$expr": "1", "note": "ignored"})
    assert not is_expr({"$expr": 1}) and not is_expr("payload.x") and not is_expr({"expr": "1"})


def test_mapping_walks_literals_and_resolves_nested_values() -> None:
    ctx = {"payload": {"ticketId": "T-1"}, "vars": {"badAssigneeUserId": "u-9"}, "meta": {}, "error": None}
    mapping = {
        "title": {"$expr": "'Ticket ' & payload.ticketId", "ignored": True},
        "assignee": {"type": "user", "id": {"$expr": "vars.badAssigneeUserId"}},
        "list": [1, {"$expr": "payload.ticketId"}, [{"$expr": "1 + 1"}]],
        "include": {"attributes": True},
        "token": {"$secret": "API_TOKEN"},
        "notSecret": {"$secret": "API_TOKEN", "other": 1},
        "emptySecret": {"$secret": ""},
        "number": 3, "nothing": None, "a.b": "kept",
    }
    resolved = resolve_mapping(mapping, ctx, secret_resolver=lambda name: f"<{name}>")
    assert resolved == {
        "title": "Ticket T-1",
        "assignee": {"type": "user", "id": "u-9"},
        "list": [1, "T-1", [2]],
        "include": {"attributes": True},
        "token": "<API_TOKEN>",
        "notSecret": {"$secret": "API_TOKEN", "other": 1},
        "emptySecret": {"$secret": ""},
        "number": 3, "nothing": None, "a.b": "kept",
    }
    assert list(resolved) == list(mapping)
    assert resolve_mapping({"$expr": "payload.ticketId"}, ctx) == "T-1"


@pytest.mark.parametrize(("mapping", "path"), [
    ({"title": {"$expr": "payload.missing"}}, "/title"),
    ({"assignee": {"id": {"$expr": "payload.missing"}}}, "/assignee/id"),
    ({"list": [0, {"$expr": "payload.missing"}]}, "/list/1"),
    ({"a/b~c": {"$expr": "payload.missing"}}, "/a~1b~0c"),
])
def test_mapping_errors_carry_the_json_pointer(mapping: dict[str, Any], path: str) -> None:
    with pytest.raises(ExpressionError) as info:
        resolve_mapping(mapping, CTX)
    assert (info.value.message, info.value.path, info.value.category) == \
        ("Expression result is not JSON-serializable", path, "ExpressionError")


def test_mapping_error_at_the_root_has_no_path() -> None:
    with pytest.raises(ExpressionError) as info:
        resolve_mapping({"$expr": "$count([])"}, CTX)
    assert info.value.path is None and info.value.message == "Expression uses disallowed function: count"


def test_secret_without_resolver_fails_as_action_error() -> None:
    with pytest.raises(ExpressionError) as info:
        resolve_mapping({"headers": {"auth": {"$secret": "API_TOKEN"}}}, CTX)
    assert info.value.category == "ActionError"
    assert info.value.path == "/headers/auth"
    assert info.value.message == \
        'Failed to resolve secret "API_TOKEN": Secret resolution not available in this context: API_TOKEN'


def test_secret_resolver_failure_reason_is_kept() -> None:
    def resolver(name: str) -> str:
        raise LookupError(f"Secret {name} not found")

    with pytest.raises(ExpressionError) as info:
        resolve_mapping({"token": {"$secret": "MISSING"}}, CTX, secret_resolver=resolver)
    assert (info.value.category, info.value.path, info.value.message) == \
        ("ActionError", "/token", 'Failed to resolve secret "MISSING": Secret MISSING not found')


# --- assignment paths ---------------------------------------------------------------------------

def envelope() -> dict[str, Any]:
    return {"payload": {"ticketId": "T-1"}, "vars": {"s": "text"}, "meta": {}}


def test_assign_into_each_scope() -> None:
    env = envelope()
    assign_path(env, "vars.a.b.c", 1)
    assign_path(env, "vars.s.x", 2)  # a non-object intermediate is replaced by an object
    assign_path(env, "payload.extra", True)
    assign_path(env, "meta.state", "triaged")
    assign_path(env, "vars..d", 3)  # empty segments are skipped
    assert env["vars"] == {"s": {"x": 2}, "a": {"b": {"c": 1}}, "d": 3}
    assert env["payload"] == {"ticketId": "T-1", "extra": True}
    assert env["meta"] == {"state": "triaged"}


def test_assign_into_error_creates_it() -> None:
    env = envelope()
    assign_path(env, "error.code", "X")
    assert env["error"]["code"] == "X" and env["error"]["message"] == ""
    assert ISO_MS.match(env["error"]["at"])
    assign_path(env, "error.message", "boom")
    assert env["error"]["code"] == "X" and env["error"]["message"] == "boom"


def test_json_pointer_writes_into_the_payload() -> None:
    env = envelope()
    assign_path(env, "/a~1b/c~0d", 1)
    assign_path(env, "/x.y", 2)
    assert env["payload"] == {"ticketId": "T-1", "a/b": {"c~d": 1}, "x.y": 2}


def test_array_indices() -> None:
    env = {"payload": {}, "vars": {"list": [1, 2]}, "meta": {}}
    assign_path(env, "vars.list.1", "b")
    assign_path(env, "vars.list.3", "d")
    assign_path(env, "vars.fresh.0", "x")
    assert env["vars"] == {"list": [1, "b", None, "d"], "fresh": {"0": "x"}}


@pytest.mark.parametrize(("path", "message"), [
    ("title", "Assignment path must be scoped (payload/vars/meta/error or JSON pointer): title"),
    ("variables.x", "Assignment path must be scoped (payload/vars/meta/error or JSON pointer): variables.x"),
    ("vars", "Assignment path must be scoped (payload/vars/meta/error or JSON pointer): vars"),
    ("", "Assignment path must be a non-empty string"),
    ("vars.__proto__.x", "Assignment path contains forbidden segment: __proto__"),
    ("payload.a.constructor", "Assignment path contains forbidden segment: constructor"),
    ("/prototype", "Assignment path contains forbidden segment: prototype"),
])
def test_rejected_paths(path: str, message: str) -> None:
    env = envelope()
    with pytest.raises(ExpressionError) as info:
        assign_path(env, path, 1)
    assert (info.value.message, info.value.category) == (message, "ActionError")
    assert env == envelope()


@pytest.mark.parametrize(("path", "expected"), [
    ("lookup", "vars.lookup"),
    ("lookup.ticket", "vars.lookup.ticket"),
    ("vars.lookup", "vars.lookup"),
    ("payload.x", "payload.x"),
    ("meta.state", "meta.state"),
    ("error.x", "error.x"),
    ("/x", "/x"),
    ("variables.x", "vars.variables.x"),
])
def test_save_as_path(path: str, expected: str) -> None:
    assert save_as_path(path) == expected
