"""The bundle schema check: a quick verdict for valid bundles, Ajv-style errors for the others,
and both always agree with a full jsonschema walk."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from harness.contract.bundle_format import bundle_errors, validator

CATALOG = sorted(Path(__file__).resolve().parents[2].joinpath("fixtures").glob("*/bundle.json"))


def _walked(bundle: Any) -> list[str]:
    """The keywords a full jsonschema walk finds violated."""
    return sorted(error.validator for error in validator().iter_errors(bundle))


def test_every_catalog_bundle_is_valid_by_both_checks():
    assert len(CATALOG) > 300
    for path in CATALOG:
        bundle = json.loads(path.read_text())
        assert bundle_errors(bundle) == [] and _walked(bundle) == [], path


def _set(path: list[Any], value: Any) -> Callable[[dict], None]:
    def change(bundle: dict) -> None:
        *parents, last = path
        node = bundle
        for key in parents:
            node = node[key]
        node[last] = value
    return change


def _drop(path: list[Any]) -> Callable[[dict], None]:
    def change(bundle: dict) -> None:
        *parents, last = path
        node = bundle
        for key in parents:
            node = node[key]
        del node[last]
    return change


W = ["workflows", 0]
CHANGES = {
    "date-time without a T": _set(["exportedAt"], "2026-01-01 00:00:00Z"),
    "hour 25": _set(["exportedAt"], "2026-01-01T25:00:00Z"),
    "offset without a colon": _set(["exportedAt"], "2026-01-01T00:00:00+0000"),
    "fractional seconds": _set(["exportedAt"], "2026-01-01T00:00:00.123Z"),
    "lower-case t and z": _set(["exportedAt"], "2026-01-01t00:00:00z"),
    "key with capitals": _set([*W, "key"], "Fixture.Bad"),
    "missing metadata field": _drop([*W, "metadata", "isPaused"]),
    "extra metadata field": _set([*W, "metadata", "extra"], 1),
    "repeated action (keys in another order)": _set([*W, "dependencies", "actions"], [
        {"actionId": "a", "version": 1}, {"version": 1, "actionId": "a"}]),
    "action version 0": _set([*W, "dependencies", "actions"], [{"actionId": "a", "version": 0}]),
    "format version true": _set(["formatVersion"], True),
    "format version 1.0": _set(["formatVersion"], 1.0),
    "draft version 1.0": _set([*W, "draft", "draftVersion"], 1.0),
    "draft version 1.5": _set([*W, "draft", "draftVersion"], 1.5),
    "no workflows": _set(["workflows"], []),
    "definition not an object": _set([*W, "publishedVersions"], [{"version": 1, "definition": [],
                                                                   "payloadSchemaJson": None}]),
}


@pytest.mark.parametrize("change", CHANGES)
def test_the_quick_verdict_agrees_with_the_full_walk(change):
    bundle = copy.deepcopy(json.loads(CATALOG[0].read_text()))
    CHANGES[change](bundle)
    assert sorted(error["keyword"] for error in bundle_errors(bundle)) == _walked(bundle)
