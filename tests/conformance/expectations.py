"""The catalog's plain-word expectations, turned into checks.

Each parser accepts exactly the phrasings the catalog uses and raises :class:`UnknownWording` on
anything else, so a new or changed catalog sentence fails loudly instead of being ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

HARNESS_LOOKUP = "harness waitForRun"
BIZ_LOOKUP = "biz waitForFixtureRun"


class UnknownWording(AssertionError):
    """A catalog sentence this suite does not know how to check."""


def lookup_kind(entry: dict[str, Any]) -> str:
    """``harness`` (newest run since the trigger) or ``biz`` (filtered on the fixture input keys)."""
    text = entry["expect"].get("runLookup", "")
    if text.startswith(HARNESS_LOOKUP):
        return "harness"
    if text.startswith(BIZ_LOOKUP):
        return "biz"
    raise UnknownWording(f"unknown runLookup: {text!r}")


def expected_runs(entry: dict[str, Any]) -> int:
    """How many runs the entry awaits (``runCount``), each with the entry's ``runStatus``."""
    text = entry["expect"].get("runCount")
    if text is None:
        return 1
    if re.fullmatch(r"two runs, both must be (SUCCEEDED|FAILED)", text):
        return 2
    raise UnknownWording(f"unknown runCount: {text!r}")


def no_run_timeout_ms(entry: dict[str, Any]) -> int:
    """The wait a ``NO_RUN`` entry allows before concluding that no run appeared."""
    text = entry["expect"].get("noRunCheck", "")
    found = re.search(r"with a (\d+) ms timeout must time out", text)
    if not found:
        raise UnknownWording(f"unknown noRunCheck: {text!r}")
    return int(found.group(1))


def newest_limit(item: dict[str, Any]) -> int:
    """The row limit of a side effect's ``match`` ("newest N ...")."""
    found = re.search(r"newest (\d+)", item["match"])
    if not found:
        raise UnknownWording(f"side effect match names no row limit: {item['match']!r}")
    return int(found.group(1))


def check_error(entry: dict[str, Any], run: dict[str, Any]) -> None:
    """``errorCheck``: the failed run's error message contains the stated text."""
    text = entry["expect"].get("errorCheck")
    if text is None:
        return
    found = re.fullmatch(r"workflow_runs\.error_json\.message \(or error_json\.error\) is a string "
                         r"containing '([^']+)' \(case-insensitive\)", text)
    if not found:
        raise UnknownWording(f"unknown errorCheck: {text!r}")
    error = run.get("error_json") if isinstance(run.get("error_json"), dict) else {}
    message = error.get("message") or error.get("error")
    if not isinstance(message, str) or found.group(1).lower() not in message.lower():
        raise AssertionError(f"run {run['run_id']} error_json.message must contain {found.group(1)!r} "
                             f"(case-insensitive); error_json={run.get('error_json')!r}")


_STEP_STATUS = re.compile(r"the run's step with definition_step_id '([^']+)' exists and has status (\w+)")
_STEP_PRESENT = re.compile(r"workflow_run_steps of the run include a row with definition_step_id '([^']+)'")
_STEP_ABSENT = re.compile(r"no row with definition_step_id '([^']+)'")


def check_steps(entry: dict[str, Any], steps: pd.DataFrame) -> None:
    """``stepChecks``: presence, absence and status of steps by ``definition_step_id``."""
    seen = steps[["definition_step_id", "status"]].to_dict("records") if not steps.empty else []
    for text in entry["expect"].get("stepChecks", []):
        if m := _STEP_STATUS.fullmatch(text):
            rows = [s for s in seen if s["definition_step_id"] == m.group(1)]
            if not rows or rows[-1]["status"] != m.group(2):
                raise AssertionError(f"step {m.group(1)!r} must exist with status {m.group(2)}; steps: {seen}")
        elif m := _STEP_PRESENT.fullmatch(text):
            if not any(s["definition_step_id"] == m.group(1) for s in seen):
                raise AssertionError(f"step {m.group(1)!r} must have run; steps: {seen}")
        elif m := _STEP_ABSENT.fullmatch(text):
            if any(s["definition_step_id"] == m.group(1) for s in seen):
                raise AssertionError(f"step {m.group(1)!r} must not have run; steps: {seen}")
        else:
            raise UnknownWording(f"unknown stepCheck: {text!r}")


@dataclass(frozen=True)
class HttpErrorSpec:
    status: int
    checks: tuple[str, ...]


def http_error_spec(entry: dict[str, Any]) -> HttpErrorSpec:
    spec = entry["expect"]["httpError"]
    return HttpErrorSpec(int(spec["status"]), tuple(spec.get("detailChecks", [])))


def _field(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        body = body.get(part) if isinstance(body, dict) else None
    return body


def check_http_error(spec: HttpErrorSpec, status: int, body: Any) -> None:
    """``httpError``: the status and each ``detailChecks`` sentence against the JSON error body."""
    if status != spec.status:
        raise AssertionError(f"expected HTTP {spec.status}, got {status}: {body!r}")
    for text in spec.checks:
        if m := re.fullmatch(r"response JSON field ([\w.]+) equals '([^']*)'", text):
            if _field(body, m.group(1)) != m.group(2):
                raise AssertionError(f"{m.group(1)} must equal {m.group(2)!r}; body: {body!r}")
        elif m := re.fullmatch(r"response JSON field ([\w.]+) is a non-empty array", text):
            value = _field(body, m.group(1))
            if not isinstance(value, list) or not value:
                raise AssertionError(f"{m.group(1)} must be a non-empty array; body: {body!r}")
        else:
            raise UnknownWording(f"unknown httpError detailCheck: {text!r}")
