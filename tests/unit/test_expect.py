"""Assertions, DataFrame-aware ones included."""
from __future__ import annotations

import pandas as pd
import pytest

from harness import expect
from harness.expect import ExpectationFailed

FRAME = pd.DataFrame([{"step": "a", "status": "SUCCEEDED"}, {"step": "b", "status": "FAILED"},
                      {"step": "c", "status": "SUCCEEDED"}])


def test_scalar_assertions():
    expect.ok(True)
    expect.equal(1, 1)
    expect.match("run FAILED: User not found", r"user not found|User not found")
    expect.contains("[fixture x] hello", "[fixture x]")
    with pytest.raises(ExpectationFailed, match="status: expected 'SUCCEEDED', got 'FAILED'"):
        expect.equal("FAILED", "SUCCEEDED", "status")
    with pytest.raises(ExpectationFailed, match="does not match"):
        expect.match(None, "x")
    with pytest.raises(ExpectationFailed, match="not found in"):
        expect.contains("abc", "z")


def test_rows_with_mapping_query_and_predicate():
    assert len(expect.rows(FRAME, {"status": "SUCCEEDED"}, at_least=2)) == 2
    assert list(expect.rows(FRAME, "status == 'FAILED'", exactly=1)["step"]) == ["b"]
    assert len(expect.rows(FRAME, lambda df: df["step"] != "a")) == 2
    expect.no_rows(FRAME, {"status": "CANCELED"})


def test_rows_failure_carries_the_frame():
    with pytest.raises(ExpectationFailed) as info:
        expect.rows(FRAME, {"status": "SUCCEEDED"}, exactly=3, message="steps")
    assert "steps: expected exactly 3 row(s) where status == 'SUCCEEDED', found 2 of 3" in str(info.value)
    assert info.value.frame is FRAME


def test_unknown_column_is_reported():
    with pytest.raises(ExpectationFailed, match="no column 'nope'"):
        expect.rows(FRAME, {"nope": 1})


def test_raises_returns_the_error_or_fails_when_the_call_returns():
    error = expect.raises(ValueError, int, "x")
    assert isinstance(error, ValueError) and "invalid literal" in str(error)
    with pytest.raises(ExpectationFailed, match="the call was accepted: expected ValueError, got 7"):
        expect.raises(ValueError, int, "7", message="the call was accepted")
    with pytest.raises(KeyError):  # another error is not swallowed
        expect.raises(ValueError, {}.__getitem__, "k")
