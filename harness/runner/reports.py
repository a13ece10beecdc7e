"""Batch reports for machines: JUnit XML and JSON."""
from __future__ import annotations

import json
import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .batch import BatchItem, BatchOutcome
from .failures import failure_details

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def not_run_reason(outcome: BatchOutcome) -> str:
    """Why the fixtures left out of a batch did not run."""
    return f"not run: {outcome.stopped_by} stopped the batch"


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _error_type(reason: str) -> str:
    """``AssertionError`` from ``"AssertionError: ..."``; a generic name for other reasons."""
    head = reason.split(":", 1)[0]
    return head if re.fullmatch(r"[A-Za-z_][\w.]*", head) else "FixtureFailure"


def failure_text(item: BatchItem) -> str:
    """The error report of a failed fixture, ending with its artifacts folder."""
    details = failure_details(item.result)
    text = details.error_text.rstrip() or item.result.reason
    if item.result.artifacts_dir:
        text += f"\n\nartifacts: {item.result.artifacts_dir}"
    return text


def write_junit(outcome: BatchOutcome, path: Path, suite_name: str = "harness") -> None:
    """One ``testsuite`` with a ``testcase`` per fixture (``classname`` is the folder holding it)."""
    suite = ET.Element("testsuite", {
        "name": suite_name, "tests": str(len(outcome.items) + len(outcome.not_run)),
        "failures": str(len(outcome.failed)), "errors": "0", "skipped": str(len(outcome.not_run)),
        "time": f"{outcome.wall_s:.3f}", "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname()})
    for item in sorted(outcome.items, key=lambda i: (i.folder.name, str(i.folder))):
        case = ET.SubElement(suite, "testcase", {
            "classname": item.folder.parent.name, "name": item.result.test_id,
            "time": f"{item.result.duration_ms / 1000:.3f}", "file": str(item.folder)})
        if not item.result.passed:
            failure = ET.SubElement(case, "failure", {"message": _xml_text(item.result.reason),
                                                      "type": _error_type(item.result.reason)})
            failure.text = _xml_text(failure_text(item))
        if item.result.artifacts_dir:
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", {"name": "artifacts", "value": item.result.artifacts_dir})
    for folder in outcome.not_run:
        case = ET.SubElement(suite, "testcase", {"classname": folder.parent.name, "name": folder.name,
                                                 "time": "0.000", "file": str(folder)})
        ET.SubElement(case, "skipped", {"message": not_run_reason(outcome)})
    root = ET.Element("testsuites", {k: suite.get(k, "") for k in ("name", "tests", "failures", "errors", "time")})
    root.append(suite)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def outcome_data(outcome: BatchOutcome, *, selection: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every verdict as JSON-ready data, plus totals."""
    results: list[dict[str, Any]] = []
    for item in sorted(outcome.items, key=lambda i: (i.folder.name, str(i.folder))):
        data = item.result.as_dict()
        data.update(fixtureDir=str(item.folder), tenantId=item.tenant_id,
                    error=None if item.result.passed else failure_text(item))
        results.append(data)
    results += [{"testId": folder.name, "status": "NOT_RUN", "fixtureDir": str(folder), "reason": not_run_reason(outcome)}
                for folder in outcome.not_run]
    return {"summary": {"total": len(results), "passed": len(outcome.items) - len(outcome.failed),
                        "failed": len(outcome.failed), "notRun": len(outcome.not_run),
                        "durationMs": int(outcome.wall_s * 1000), "jobs": outcome.jobs, **(selection or {})},
            "results": results}


def write_json(outcome: BatchOutcome, path: Path, *, selection: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome_data(outcome, selection=selection), indent=2) + "\n", encoding="utf-8")
