"""One catalog entry under test: the harness steps around it and the generic expectations.

:class:`Session` is the original harness (``run.cjs``) for the whole suite: one client, one
database session and the corpus folder. :meth:`Session.open` imports an entry's bundle with force,
pauses the other ``fixture.%`` workflows, applies the bundle's ``isPaused`` and records the trigger
start time (``harness.Fixture``). :class:`Case` then gives the entry's driver (a recipe or a
bespoke test) the trigger and run-lookup steps, checking ``runStatus``, ``errorCheck``,
``stepChecks``, ``httpError`` and ``noRunCheck`` as the catalog states them, and keeps track of
which expectations were exercised, so an incomplete driver fails rather than passing silently.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness import AlgaClient, Database, Fixture, HttpError, RunTimeout, Target
from harness.run_queries import step_summary
from harness.workflow import load_bundle

from . import expectations as ex

DETAIL_CHARS = 400


def brief(value: Any, limit: int = DETAIL_CHARS) -> str:
    """Compact JSON for failure messages, cut at ``limit`` characters."""
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class Session:
    """The shared client, database session and corpus folder of the whole suite."""

    target: Target
    api: AlgaClient
    db: Database
    corpus: Path

    def open(self, entry: dict[str, Any]) -> "Case":
        """Import the entry's bundle (force), isolate it from other fixtures, mark the trigger time."""
        directory = self.corpus / entry["name"]
        fx = Fixture(directory, load_bundle(directory / "bundle.json"), self.target, self.api, self.db)
        fx._install(force=True, skip_import=False)  # the harness's own import + pause + trigger-time step
        return Case(entry, fx)


class Case:
    """A driver's handle on one entry: trigger, run lookup, side-effect bookkeeping, cleanup."""

    def __init__(self, entry: dict[str, Any], fx: Fixture) -> None:
        self.entry = entry
        self.fx = fx
        self.name: str = entry["name"]
        self.expected_status: str = entry["expect"]["runStatus"]
        self.runs: list[dict[str, Any]] = []
        self._rejected = False
        self._no_run = False
        self._unchecked = list(entry["expect"]["sideEffects"])

    @property
    def marker(self) -> str:
        return self.fx.marker()

    @property
    def child_marker(self) -> str:
        return self.fx.marker("child")

    def on_cleanup(self, label: str, fn: Callable[[], Any]) -> None:
        self.fx.on_cleanup(fn, label)

    def mark_trigger(self) -> None:
        """A fresh start time: runs started before now are ignored by the next lookup."""
        self.fx.mark_trigger()

    # -- trigger ---------------------------------------------------------------------------------
    def post_event(self, payload: dict[str, Any], *, correlation_key: str, event_name: str | None = None,
                   schema_ref: str | None = None) -> None:
        """POST /api/workflow/events; for an ``HTTP_ERROR`` entry, the rejection is what gets checked."""
        trigger = self.entry["trigger"]

        def post() -> None:
            self.fx.api.post_event(event_name or trigger["eventName"], payload, correlation_key=correlation_key,
                                   payload_schema_ref=schema_ref or trigger["payloadSchemaRef"])

        if self.expected_status != "HTTP_ERROR":
            post()
            return
        spec = ex.http_error_spec(self.entry)
        try:
            post()
        except HttpError as exc:
            ex.check_http_error(spec, exc.status, exc.details)
            self._rejected = True
            return
        raise AssertionError(f"POST /api/workflow/events was accepted; expected HTTP {spec.status}")

    # -- the run ---------------------------------------------------------------------------------
    def await_run(self, input_filter: dict[str, str | None] | None = None) -> dict[str, Any] | None:
        """The run located as the entry says, checked against ``runStatus``, ``errorCheck`` and
        ``stepChecks``. ``input_filter`` is the biz lookup's ``input_json`` filter."""
        if (ex.lookup_kind(self.entry) == "biz") != (input_filter is not None):
            raise ex.UnknownWording(f"the driver's run lookup does not fit {self.entry['expect']['runLookup']!r}")
        if self.expected_status == "NO_RUN":
            return self._await_no_run()
        run = self.fx.wait_for_run(input_filter=input_filter)
        steps = self.fx.steps()
        if run["status"] != self.expected_status:
            summary = step_summary(steps)
            failed = [{k: s[k] for k in ("definition_step_id", "step_path", "error_json")} for s in summary["failed"]]
            raise AssertionError(f"run {run['run_id']} ended {run['status']}, expected {self.expected_status}; "
                                 f"error_json={brief(run.get('error_json'))}; steps={brief(summary['counts'])}; "
                                 f"failed steps={brief(failed)}")
        ex.check_error(self.entry, run)
        ex.check_steps(self.entry, steps)
        self.runs.append(run)
        return run

    def _await_no_run(self) -> None:
        try:
            run = self.fx.wait_for_run(timeout_ms=ex.no_run_timeout_ms(self.entry))
        except RunTimeout as exc:
            if "Timed out waiting for workflow run" not in str(exc):
                raise
            self._no_run = True
            return None
        raise AssertionError(f"expected no run, but run {run['run_id']} started and ended {run['status']}")

    # -- side effects ----------------------------------------------------------------------------
    def side_effect(self, table: str) -> dict[str, Any]:
        """The next unchecked ``sideEffects`` item reading ``table`` (it now counts as checked)."""
        for item in self._unchecked:
            if item["table"].split(" ")[0] == table:
                self._unchecked.remove(item)
                return item
        raise ex.UnknownWording(f"the driver checks {table}, which the entry does not list (again) as a side effect")

    def unexercised(self) -> list[str]:
        """Catalog expectations the driver never exercised (each one is a failure)."""
        problems = [f"side effect on {item['table']} was not checked" for item in self._unchecked]
        if self.expected_status in ("SUCCEEDED", "FAILED") and len(self.runs) != ex.expected_runs(self.entry):
            problems.append(f"{ex.expected_runs(self.entry)} run(s) expected, {len(self.runs)} awaited")
        if self.expected_status == "HTTP_ERROR" and not self._rejected:
            problems.append("the HTTP rejection was not checked")
        if self.expected_status == "NO_RUN" and not self._no_run:
            problems.append("the absence of a run was not checked")
        return problems
