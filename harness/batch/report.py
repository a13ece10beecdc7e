"""How a fixture's verdict reaches pytest's reports: its properties (JUnit, report-log, xdist), the
``PASS``/``FAIL`` line, the failure text, and the rendered failure notebook linked from pytest-html."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the xdist controller reads verdicts for every report: it loads the runner only for a failure
    from ..execution.single import FixtureResult

PROPERTY_NAMES = ("testId", "durationMs", "workMs", "reason", "tenantId", "runId", "workflowId", "artifacts")


def properties(result: FixtureResult, tenant_id: str) -> list[tuple[str, str]]:
    """The verdict as ``user_properties`` (plain strings: they travel to xdist's controller and reports)."""
    data = result.as_dict()
    values = {"testId": data["testId"], "durationMs": str(data["durationMs"]), "reason": data["reason"],
              "tenantId": tenant_id, "runId": data["runId"], "workflowId": data["workflowId"],
              "artifacts": data["artifactsDir"], "workMs": _work_ms(result)}
    return [(name, value) for name, value in values.items() if value]


def _work_ms(result: FixtureResult) -> str | None:
    """Trigger → run → assertions done, the fixture's own work (ms), when the kernel recorded it."""
    timings = result.context.get("timings") or {}
    if not (timings.get("triggered") and timings.get("cleanup_started")):
        return None
    return str(round((timings["cleanup_started"] - timings["triggered"]) * 1000))


def verdict(report: pytest.TestReport) -> dict[str, str] | None:
    """The fixture verdict a report carries, ``None`` for other tests."""
    found = {name: str(value) for name, value in report.user_properties if name in PROPERTY_NAMES}
    return found if "testId" in found else None


def summary_line(report: pytest.TestReport, found: dict[str, str]) -> str:
    """``PASS <testId> <ms>`` or ``FAIL <testId> <ms> <reason>``, as ``harness run`` prints it."""
    status = "PASS" if report.passed else "FAIL"
    line = f"{status} {found['testId']} {found['durationMs']}"
    return line if report.passed else f"{line} {found.get('reason', '')}".rstrip()


def describe_failure(result: FixtureResult) -> str:
    """The failure section: the reason, the failing cell with its source and error, the artifacts folder."""
    from ..execution.failures import failure_details

    details = failure_details(result)
    lines = [f"FAIL {result.test_id}: {result.reason}"]
    if details.cell_label:
        name = f"[{details.cell_index}]" if details.cell_index is not None else f"({details.cell_label})"
        lines += ["", f"failing cell {name}:"]
        lines += [f"    {line}" for line in details.cell_source.splitlines()]
        lines += ["", details.cell_error.rstrip()]
    if result.artifacts_dir:
        lines += ["", f"artifacts: {result.artifacts_dir}"]
    return "\n".join(lines)


def html_extras(config: pytest.Config, found: dict[str, str]) -> list[Any]:
    """pytest-html extras for a failed fixture: links to its rendered notebook and artifacts folder,
    relative to the report so both can be moved (uploaded) together."""
    report_path = getattr(config.option, "htmlpath", None)
    artifacts_dir = found.get("artifacts")
    if not report_path or not artifacts_dir:
        return []
    from pytest_html import extras

    from ..artifacts import render_failure_notebook

    base = Path(report_path).resolve().parent
    links = []
    rendered = render_failure_notebook(artifacts_dir)
    if rendered is not None:
        links.append(extras.url(os.path.relpath(rendered, base), name="failure notebook"))
    links.append(extras.url(os.path.relpath(artifacts_dir, base), name="artifacts"))
    return links
