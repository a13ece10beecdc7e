"""The zod-style action schemas and the fixture-era engine key hash, without a server."""
from __future__ import annotations

import pytest

from harness.sandbox.actions.registry import ACTIONS, retry_hint
from harness.sandbox.actions.schema import (
    UUID,
    Arr,
    Enum,
    Int,
    Obj,
    Refine,
    SchemaError,
    Str,
)
from harness.sandbox.runtime.action_call import java_hash36

SCHEMA = Obj(fields={
    "id": UUID,
    "title": Str(min_len=1),
    "mode": Enum(options=("a", "b")).default("a"),
    "tags": Arr(item=Str()).optional(),
    "limit": Int(positive=True, maximum=10).optional(),
    "note": Str().nullable().optional(),
}, refinements=(Refine(lambda d: d.get("title") != "forbidden", "title is forbidden"),))


def issues(value: object) -> list[dict]:
    with pytest.raises(SchemaError) as info:
        SCHEMA.parse(value)
    return info.value.issues


def test_strip_defaults_and_key_order() -> None:
    parsed = SCHEMA.parse({"extra": 1, "title": "t", "id": "0F8FAD5B-D9CB-469F-A165-70867728950E", "note": None})
    assert parsed == {"id": "0F8FAD5B-D9CB-469F-A165-70867728950E", "title": "t", "mode": "a", "note": None}
    assert list(parsed) == ["id", "title", "mode", "note"], "output keys follow the schema, like zod"


def test_zod_issues() -> None:
    found = issues({"id": "nope", "title": "", "mode": "c", "tags": ["x", 2], "limit": 1.5})
    assert [(i["code"], i["path"]) for i in found] == [
        ("invalid_string", ["id"]), ("too_small", ["title"]), ("invalid_enum_value", ["mode"]),
        ("invalid_type", ["tags", 1]), ("invalid_type", ["limit"])]
    messages = [i["message"] for i in found]
    assert messages == ["Invalid uuid", "String must contain at least 1 character(s)",
                        "Invalid enum value. Expected 'a' | 'b', received 'c'", "Expected string, received number",
                        "Expected integer, received float"]
    assert issues({"title": "t", "id": None}) == [{"code": "invalid_type", "expected": "string", "received": "null",
                                                   "path": ["id"], "message": "Expected string, received null"}]
    assert issues({"title": "t"})[0]["message"] == "Required"
    assert issues([])[0]["message"] == "Expected object, received array"
    assert issues({"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "title": "t", "limit": 11})[0]["message"] == \
        "Number must be less than or equal to 10"


def test_refinements_run_only_on_a_parsed_object() -> None:
    valid_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert issues({"id": valid_id, "title": "forbidden"}) == [{"code": "custom", "path": [], "message":
                                                               "title is forbidden"}]
    assert [i["code"] for i in issues({"id": "bad", "title": "forbidden"})] == ["invalid_string", "custom"]
    assert [i["code"] for i in issues({"id": 1, "title": "forbidden"})] == ["invalid_type"]


def test_formats() -> None:
    email, when, url = Str(fmt="email"), Str(fmt="datetime"), Str(fmt="url")
    assert email.parse("A.b+c@example.co") == "A.b+c@example.co"
    for bad, schema in (("a@b", email), ("2026-01-01T00:00:00+01:00", when), ("2026-01-01", when),
                        ("not a url", url), ("http://", url)):
        with pytest.raises(SchemaError):
            schema.parse(bad)
    assert when.parse("2026-01-01T00:00:00.123456Z")
    assert url.parse("https://example.com/a.pdf")


def test_engine_key_hash_matches_javascript() -> None:
    # values computed with the fixture-era JavaScript hash (h = (h << 5) - h + charCode, |0, abs, base 36)
    assert java_hash36("hello") == "1n1e4y"
    assert java_hash36("") == "0"
    assert java_hash36('{"runId":"x"}') == "dxluxk"
    assert java_hash36("ünïcode 😀 long string to overflow many times 1234567890") == "epvxpx"


def test_registry() -> None:
    assert len(ACTIONS) == 18 and ("time.create_entry", 1) in ACTIONS and all(version == 1 for _, version in ACTIONS)
    assert retry_hint("email.send", 1) == {"maxAttempts": 3, "backoffMs": 1000, "retryOn": ["TransientError"]}
    assert retry_hint("tickets.find", 1) is None and retry_hint("nope", 1) is None
    provided = {key[0] for key, action in ACTIONS.items() if action.key_rule is not None}
    assert provided == {"tickets.create", "tickets.add_comment", "tickets.update_fields", "tickets.add_attachment",
                        "email.send", "notifications.send_in_app"}
