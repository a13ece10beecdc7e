"""The notebook-facing fixture context: ``fx = harness.open_fixture(fixture_dir)``.

Opening a fixture imports its bundle, isolates it from other fixture workflows (pauses them),
and records the trigger start time. The context then triggers work, waits for the run, reads
steps, logs and domain tables, and runs cleanup hooks last-in-first-out.
"""
from __future__ import annotations

import json
import os
import time
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from . import expect, run_queries
from .cleanup import JOURNAL_ENV, CleanupSession, Journal, Sql, attempt, mark, new_journal_path, start_journal
from .config import Target, resolve_target
from .db import Database
from .display import install_readable_frames
from .display.run_view import RunView
from .errors import FixtureError, RunTimeout
from .http import AlgaClient, Response
from .redaction import redact_url
from .workflow import (Bundle, ImportSummary, export_workflow, import_bundle, load_bundle, publish, update_draft,
                       walk, workflow_step_types)

if TYPE_CHECKING:  # pandas is imported on use: the runner imports this module and never needs it
    import pandas as pd

    from .domain.creators import Creators
    from .domain.finders import Finders
    from .domain.overrides import Overrides
    from .domain.picks import Picks
    from .domain.record import Record
    from .domain.updaters import Updaters

CONTEXT_FILE_ENV = "HARNESS_CONTEXT_FILE"
DEADLINE_ENV = "HARNESS_DEADLINE"  # epoch seconds when the runner interrupts the kernel
DEADLINE_MARGIN_S = 0.5

# Only rows not yet paused: rewriting every paused row on each open bloats the table as the catalog grows.
_PAUSE_OTHERS = ("UPDATE workflow_definitions SET is_paused = true "
                 "WHERE tenant = %s AND key LIKE 'fixture.%%' AND key <> %s AND is_paused IS NOT TRUE")
_SET_PAUSED = "UPDATE workflow_definitions SET is_paused = %s WHERE workflow_id = %s AND tenant = %s"
_LOOKUP = "SELECT workflow_id FROM workflow_definitions WHERE tenant = %s AND key = %s"
# What a fixture's workflow writes with the fixture's marker, swept at cleanup (rows since the fixture opened).
_MARKED = {
    "internal_notifications": "title LIKE %(marker)s OR message LIKE %(marker)s",
    "interactions": "title LIKE %(marker)s OR notes LIKE %(marker)s",
    "comments": "note LIKE %(marker)s",
}
SWEEP_LABEL = "remove what the workflow wrote with the fixture's marker"
# Tickets a workflow created (tickets.create) with the marker in the title, and the rows that hang on them.
_MARKED_TICKETS = ("SELECT ticket_id FROM tickets WHERE tenant = %(tenant)s AND entered_at >= %(since)s "
                   "AND title LIKE %(marker)s")
_TICKET_CHILDREN = ("comments", "ticket_resources", "project_ticket_links", "ticket_entity_links")
_MARKED_DOCUMENTS = ("SELECT document_id FROM documents WHERE tenant = %(tenant)s AND entered_at >= %(since)s "
                     "AND document_name LIKE %(marker)s")
_MARKED_ENTRIES = ("SELECT entry_id FROM schedule_entries WHERE tenant = %(tenant)s AND created_at >= %(since)s "
                   "AND title LIKE %(marker)s")

_active: "Fixture | None" = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Fixture:
    """State and helpers for one fixture execution (one kernel, one trigger at a time)."""

    def __init__(self, fixture_dir: Path, bundle: Bundle, target: Target, api: AlgaClient, db: Database) -> None:
        self.fixture_dir = fixture_dir
        self.test_id = fixture_dir.name
        self.bundle = bundle
        self.target = target
        self.api = api
        self.db = db
        self.workflow_id: str = ""
        self.import_summary: ImportSummary | None = None
        self.trigger_started_at: datetime = _now()
        self.run: dict[str, Any] | None = None
        self._cleanups: list[tuple[str, Any, int | None]] = []  # (label, action or callable, journal id)
        self._journal: Journal | None = None
        self.cleanup_errors: list[str] = []
        self.notes: dict[str, Any] = {}
        self.timings: dict[str, float] = {}  # phase name -> epoch seconds, for reports and benchmarks

    # -- identity -----------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        return self.target.tenant_id

    @property
    def workflow_key(self) -> str:
        return self.bundle.workflow_key

    def marker(self, suffix: str = "") -> str:
        """The marker text this fixture's workflow writes: ``[fixture <name>]``."""
        return f"[fixture {self.test_id}{' ' + suffix if suffix else ''}]"

    # -- the domain vocabulary ----------------------------------------------------------------
    @cached_property
    def picks(self) -> Picks:
        """Existing rows of the tenant to build on: ``fx.picks.ticket_defaults()``, ``.technician()``, ..."""
        from .domain.picks import Picks

        return Picks(self)

    @cached_property
    def create(self) -> Creators:
        """Rows this fixture creates, cleaned up afterwards: ``fx.create.ticket()``, ``.project()``, ..."""
        from .domain.creators import Creators

        return Creators(self)

    @cached_property
    def find(self) -> Finders:
        """What the workflow wrote, as DataFrames: ``fx.find.comments(ticket_id)``, ``.notifications()``, ..."""
        from .domain.finders import Finders

        return Finders(self)

    @cached_property
    def update(self) -> Updaters:
        """Changes made the way a person makes them, through ``/api/v1``, so the server publishes its
        events: ``fx.update.ticket(ticket_id, status_id=...)``, ``.project(...)``, ``.project_task(...)``."""
        from .domain.updaters import Updaters

        return Updaters(self)

    @cached_property
    def override(self) -> Overrides:
        """Tenant settings changed for this fixture only: ``fx.override.email_settings()``."""
        from .domain.overrides import Overrides

        return Overrides(self)

    # -- setup --------------------------------------------------------------------------
    def _install(self, *, force: bool, skip_import: bool) -> None:
        if skip_import:
            row = self.db.one(_LOOKUP, (self.tenant_id, self.workflow_key))
            if not row:
                raise FixtureError(f"--skip-import: workflow {self.workflow_key!r} is not in the database")
            self.workflow_id = row["workflow_id"]
        else:
            self.import_summary = import_bundle(self.api, self.bundle, force=force)
            self.workflow_id = self.import_summary.workflow_id
        writer = self.db.writer()
        writer.execute(_PAUSE_OTHERS, (self.tenant_id, self.workflow_key))
        writer.execute(_SET_PAUSED, (self.bundle.is_paused, self.workflow_id, self.tenant_id))
        self.mark_trigger()
        self._sweep_marked_rows()

    def _sweep_marked_rows(self) -> None:
        """Register (journaled, before anything can be written) the removal of what the workflow writes
        with this fixture's marker: notifications, interactions, comments, schedule entries, time entries,
        documents, tickets (with the rows that hang on them), and on the sandbox its sent mail. Only rows
        created since the fixture opened, in its tenant, are touched."""
        parts = [f"{table} AS (DELETE FROM {table} WHERE tenant = %(tenant)s AND created_at >= %(since)s "
                 f"AND ({where}))" for table, where in _MARKED.items()]
        if self.keeps_sent_mail:
            parts.append("email_outbox AS (DELETE FROM email_outbox WHERE tenant = %(tenant)s AND created_at >= %(since)s "
                         "AND (subject LIKE %(marker)s OR text LIKE %(marker)s))")
        parts += [f"entries AS ({_MARKED_ENTRIES})",
                  "conflicts AS (DELETE FROM schedule_conflicts WHERE tenant = %(tenant)s AND (entry_id_1 IN "
                  "(SELECT entry_id FROM entries) OR entry_id_2 IN (SELECT entry_id FROM entries)))",
                  "assignees AS (DELETE FROM schedule_entry_assignees WHERE tenant = %(tenant)s "
                  "AND entry_id IN (SELECT entry_id FROM entries))",
                  "entries_gone AS (DELETE FROM schedule_entries WHERE tenant = %(tenant)s "
                  "AND entry_id IN (SELECT entry_id FROM entries))",
                  "time_entries AS (DELETE FROM time_entries WHERE tenant = %(tenant)s AND created_at >= %(since)s "
                  "AND notes LIKE %(marker)s)",
                  f"marked_documents AS ({_MARKED_DOCUMENTS})",
                  "document_links AS (DELETE FROM document_associations WHERE tenant = %(tenant)s "
                  "AND document_id IN (SELECT document_id FROM marked_documents))",
                  "documents AS (DELETE FROM documents WHERE tenant = %(tenant)s "
                  "AND document_id IN (SELECT document_id FROM marked_documents))",
                  f"marked_tickets AS ({_MARKED_TICKETS})"]
        parts += [f"ticket_{table} AS (DELETE FROM {table} WHERE tenant = %(tenant)s "
                  "AND ticket_id IN (SELECT ticket_id FROM marked_tickets))" for table in _TICKET_CHILDREN]
        sql = ("WITH " + ", ".join(parts) +
               " DELETE FROM tickets WHERE tenant = %(tenant)s AND ticket_id IN (SELECT ticket_id FROM marked_tickets)")
        params = {"tenant": self.tenant_id, "since": self.trigger_started_at, "marker": f"%{self.marker()}%"}
        self.on_cleanup(Sql(sql, params), SWEEP_LABEL)

    @cached_property
    def keeps_sent_mail(self) -> bool:
        """Whether the target keeps what ``email.send`` delivers where a query can see it: the sandbox's
        ``email_outbox`` table (a real AlgaPSA hands mail to its provider and keeps no copy)."""
        return bool(self.db.scalar("SELECT to_regclass('email_outbox') IS NOT NULL"))

    def mark_trigger(self) -> datetime:
        """Record now, by the database's clock, as the trigger start time; runs started earlier are ignored.

        The database writes ``workflow_runs.started_at``, so its clock (not this machine's, which may
        be skewed against a remote target) decides which runs count.
        """
        self.trigger_started_at = self.db.scalar("SELECT clock_timestamp()")
        self.timings["triggered"] = self.trigger_started_at.timestamp()
        self.run = None
        self._save_progress()
        return self.trigger_started_at

    def _save_progress(self) -> None:
        """Under the runner, write what is known so far (ids, import summary, trigger time, cleanup
        callables) to the context file, so the runner still reports truthfully if this kernel dies
        before its teardown."""
        path = os.environ.get(CONTEXT_FILE_ENV)
        if path:
            callables = [label for label, _, entry_id in self._cleanups if entry_id is None]
            _write_json(Path(path), {"opened": True, "partial": True, **self._identity(),
                                     "pendingCallables": callables})

    # -- triggering ---------------------------------------------------------------------
    def post_event(self, payload: Mapping[str, Any], *, event_name: str | None = None,
                   correlation_key: str | None = None, payload_schema_ref: str | None = None) -> Response:
        """Post a workflow event; the event name and schema ref default to the bundle's trigger."""
        name = event_name or self.bundle.trigger_event
        if not name:
            raise FixtureError("the bundle has no trigger event; pass event_name=")
        ref = payload_schema_ref or self.bundle.payload_schema_ref
        key = correlation_key or str(uuid.uuid4())
        return self.api.post_event(name, payload, correlation_key=key, payload_schema_ref=ref)

    # -- the run ------------------------------------------------------------------------
    def wait_for_run(self, timeout_ms: int | None = None,
                     input_filter: dict[str, str | None] | None = None) -> dict[str, Any]:
        """Wait for the newest run of this workflow started since the trigger, until terminal.

        Under the runner the wait ends just before the global deadline, so a missing run is
        reported as a clear timeout rather than an interrupted kernel.
        """
        budget = timeout_ms or self.target.timeout_ms
        deadline = os.environ.get(DEADLINE_ENV)
        if deadline:
            budget = max(1, min(budget, int((float(deadline) - time.time() - DEADLINE_MARGIN_S) * 1000)))
        self.run = run_queries.wait_for_run(self.db, self.workflow_id, self.tenant_id, self.trigger_started_at,
                                     timeout_ms=budget, input_filter=input_filter)
        self.timings["run_seen"] = time.time()
        return self.run

    @property
    def run_id(self) -> str:
        """The current run's id (after :meth:`wait_for_run`)."""
        if self.run is None:
            raise FixtureError("no run yet: call fx.wait_for_run() first")
        return self.run["run_id"]

    def steps(self) -> pd.DataFrame:
        """The current run's steps as a DataFrame."""
        return run_queries.run_steps(self.db, self.run_id)

    def logs(self, limit: int = 200) -> pd.DataFrame:
        """The current run's logs as a DataFrame (newest first)."""
        return run_queries.run_logs(self.db, self.run_id, limit)

    def step(self, definition_step_id: str) -> dict[str, Any] | None:
        """The latest step row with this ``definition_step_id``, or ``None``."""
        steps = self.steps()
        found = steps[steps["definition_step_id"] == definition_step_id]
        return found.iloc[-1].to_dict() if not found.empty else None

    def show_run(self, run_id: str | None = None, log_limit: int = 200) -> RunView:
        """The current run (else the newest since the trigger, or ``run_id``) with its steps and logs.

        Displays them in a notebook; elsewhere just returns them (``view.run``, ``.steps``, ``.logs``).
        """
        if run_id is not None:
            run = self.db.one(f"SELECT {run_queries.RUN_COLUMNS} FROM workflow_runs WHERE run_id = %s AND tenant = %s",
                              (run_id, self.tenant_id))
            if run is None:
                raise FixtureError(f"no run {run_id} in tenant {self.tenant_id}")
        else:
            run = self.run or (run_queries.newest_run(self.db, self.workflow_id, self.tenant_id, self.trigger_started_at)
                               if self.workflow_id else None)
        import pandas as pd

        if run is None:
            empty = pd.DataFrame()
            view = RunView(f"**{self.workflow_key}**: no run since {self.trigger_started_at.isoformat()}",
                           empty, empty, empty)
        else:
            steps = run_queries.run_steps(self.db, run["run_id"])
            counts = ", ".join(f"{n} {status}" for status, n in run_queries.step_summary(steps)["counts"].items())
            error = run.get("error_json") or {}
            reason = f" — {error.get('message')}" if isinstance(error, dict) and error.get("message") else ""
            header = (f"**{self.workflow_key}** run `{run['run_id']}`: **{run['status']}**{reason} "
                      f"({run.get('event_type') or 'no event'}; steps: {counts or 'none'})")
            view = RunView(header, pd.DataFrame([run]), steps, run_queries.run_logs(self.db, run["run_id"], log_limit),
                           workflow_key=self.workflow_key,
                           step_types=workflow_step_types(self.bundle.data["workflows"], self.workflow_key))
        view.show()
        return view

    def expect_run(self, status: str = "SUCCEEDED", *, event_type: str | None = None,
                   steps: Sequence[str] | None = None, step_status: str | None = "SUCCEEDED") -> pd.DataFrame:
        """Assert the current run: its ``status``, its ``event_type``, the ``definition_step_id`` of its
        steps in execution order, and that every step ended ``step_status`` (``None``: any). Shows the run
        first (:meth:`show_run`), so a failure is read off the picture. Returns the steps."""
        run = self.run or {}
        view = self.show_run()
        if not run:
            raise FixtureError("no run yet: call fx.wait_for_run() first")
        error = run.get("error_json")
        expect.equal(run["status"], status, "run status" + (f" (error: {error})" if error else ""))
        if event_type is not None:
            expect.equal(run["event_type"], event_type, "event type")
        found = view.steps  # the current run's steps, read once for the picture and the assertions
        if steps is not None:
            expect.equal(list(found["definition_step_id"]), list(steps), "steps in execution order")
        if step_status is not None:
            expect.rows(found, f"status != {step_status!r}", exactly=0, message=f"steps not {step_status}")
        return found

    def expect_step(self, definition_step_id: str, status: str = "SUCCEEDED", *, code: str | None = None,
                    category: str | None = None, message: str | None = None, attempts: int | None = None) -> Record:
        """Assert one step of the current run, by its ``definition_step_id`` (its latest row): its
        ``status``, the ``code``, ``category`` and ``message`` of its ``error_json``, and its ``attempts``
        (the attempt number of the latest row, so 3 means two retries). Returns the step row.

        A failed step is asserted here whether the run failed with it or a ``control.tryCatch`` caught it.
        """
        from .domain.record import Record

        found = self.step(definition_step_id)
        if found is None:
            seen = ", ".join(self.steps()["definition_step_id"]) or "none"
            expect.ok(False, f"step {definition_step_id!r} did not run (steps that ran: {seen})")
        row = Record(found or {})
        error = row.get("error_json") if isinstance(row.get("error_json"), dict) else {}
        what = f"step {definition_step_id}"
        expect.equal(row["status"], status, f"{what} status" + (f" (error: {error})" if error else ""))
        for key, wanted in (("code", code), ("category", category), ("message", message)):
            if wanted is not None:
                expect.equal(error.get(key), wanted, f"{what} error {key}")
        if attempts is not None:
            expect.equal(int(row["attempt"]), attempts, f"{what} attempts")
        return row

    def expect_no_run(self, window_ms: int = 1500) -> pd.DataFrame:
        """Assert that the trigger starts no run of this workflow: none ends within ``window_ms``, and
        afterwards none has started at all (not even one still running). Returns the runs found (none)."""
        try:
            run = self.wait_for_run(timeout_ms=window_ms)
        except RunTimeout:
            run = None
        expect.ok(run is None, f"{self.workflow_key} produced a run within {window_ms} ms: {run}")
        runs = self.find.runs()
        expect.no_rows(runs, message=f"runs of {self.workflow_key} since the trigger")
        return runs

    def retrigger(self) -> datetime:
        """Start the trigger over in a live kernel: run (and forget) the cleanup hooks registered so
        far, take a new trigger time and forget the previous run. Returns the new trigger time."""
        for line in self.cleanup():
            print(line)
        return self.mark_trigger()

    # -- versions -----------------------------------------------------------------------
    def publish(self, workflow_key: str | None = None, *, calls: Mapping[str, str] | None = None,
                definition: Mapping[str, Any] | None = None) -> int:
        """Publish a new version of a bundle workflow (default: this fixture's) and return its number.

        ``definition`` replaces the draft first. ``calls`` maps a ``control.callWorkflow`` step id to
        the key of the workflow it calls: the step is pointed at that workflow's id and newest published
        version, so publish the called workflow first. The version is the next free one, as AlgaPSA
        numbers it; the workflow's versions go with the workflow, which the next import replaces.
        """
        key = workflow_key or self.workflow_key
        workflow_id = self._workflow_id_of(key)
        draft = json.loads(json.dumps(definition)) if definition is not None else \
            export_workflow(self.api, workflow_id)["workflows"][0]["draft"]["definition"]
        steps = {step["id"]: step for _, _, step in walk(draft.get("steps", []))}
        for step_id, called_key in (calls or {}).items():
            step = steps.get(step_id)
            if step is None or step.get("type") != "control.callWorkflow":
                raise FixtureError(f"{key} has no control.callWorkflow step {step_id!r}")
            called_id = self._workflow_id_of(called_key)
            version = self.db.scalar("SELECT max(version) FROM workflow_definition_versions WHERE workflow_id = %s",
                                     (called_id,))
            if version is None:
                raise FixtureError(f"{called_key} has no published version: publish it before {key}")
            step.update(workflowId=called_id, workflowVersion=int(version))
        update_draft(self.api, workflow_id, draft)
        return int(publish(self.api, workflow_id, 1)["publishedVersion"])  # AlgaPSA publishes the next free version

    def _workflow_id_of(self, key: str) -> str:
        row = self.db.one(_LOOKUP, (self.tenant_id, key))
        if row is None:
            raise FixtureError(f"no workflow {key!r} in tenant {self.tenant_id}")
        return str(row["workflow_id"])

    # -- cleanup ------------------------------------------------------------------------
    def on_cleanup(self, action: Any, label: str | None = None) -> Any:
        """Register cleanup to run after the test, last registered first, on pass and on fail.

        ``action`` is declarative (:class:`harness.ApiDelete`, :class:`harness.Sql`): it is journaled on
        disk before this returns, so it still runs if the kernel dies, is interrupted or times out
        (the runner, or later ``harness cleanup``, replays it). A plain callable is also accepted, but it
        lives in this kernel only: it does not run when the kernel dies or has to be killed.
        """
        if hasattr(action, "to_json") and hasattr(action, "run"):
            name = label or type(action).__name__
            self._cleanups.append((name, action, self._journal_for_cleanup().add(name, action)))
        elif callable(action):
            self._cleanups.append((label or getattr(action, "__name__", "cleanup"), action, None))
            self._save_progress()  # so a runner whose kernel dies can say which callables were lost
        else:
            raise FixtureError(f"on_cleanup needs a cleanup action or a callable, got {type(action).__name__}")
        return action

    def _journal_for_cleanup(self) -> Journal:
        if self._journal is None:
            given = os.environ.get(JOURNAL_ENV)
            # Under the runner, the runner owns (and locks) the journal; alone, this kernel does.
            path = Path(given) if given else new_journal_path(self.test_id)
            self._journal = start_journal(path, hold=not given, test_id=self.test_id, target=self.target)
        return self._journal

    def cleanup(self) -> list[str]:
        """Run the registered cleanup (LIFO); return (and remember) the errors."""
        errors: list[str] = []
        session = CleanupSession(self.api, self.db.writer)
        while self._cleanups:
            label, action, entry_id = self._cleanups.pop()
            error = attempt(label, action if entry_id is None else lambda: action.run(session))
            if entry_id is not None and self._journal is not None:
                mark(self._journal, entry_id, error)
            if error is not None:
                errors.append(error)
        self.cleanup_errors.extend(errors)
        return errors

    def summary(self) -> dict[str, Any]:
        """Who this fixture is: workflow, tenant, marker, trigger time (what the notebook shows for ``fx``)."""
        return {"workflow_key": self.workflow_key, "workflow_id": self.workflow_id, "tenant": self.tenant_id,
                "marker": self.marker(), "trigger_started_at": self.trigger_started_at}

    def _ipython_display_(self) -> None:
        from .domain.record import Record

        Record(self.summary())._ipython_display_()

    # -- reporting ----------------------------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        """What this fixture is and what it knows before the run: target, workflow, import, trigger time."""
        return {
            "testId": self.test_id,
            "fixtureDir": str(self.fixture_dir),
            "target": {"baseUrl": redact_url(self.target.base_url), "tenantId": self.tenant_id,
                       "sandbox": self.target.is_sandbox},
            "workflowKey": self.workflow_key,
            "workflowId": self.workflow_id or None,
            "importSummary": self.import_summary.raw if self.import_summary else None,
            "triggerStartedAt": self.trigger_started_at.isoformat(),
        }

    def context(self) -> dict[str, Any]:
        """Plain data describing this fixture's state, for artifacts and reports (no secrets)."""
        facts = run_facts(self.db, self.tenant_id, self.workflow_id, self.trigger_started_at, self.run)
        return {**self._identity(), **facts, "cleanupErrors": list(self.cleanup_errors), "notes": self.notes,
                "timings": dict(self.timings)}

    def close(self) -> None:
        """Close the journal (removed when nothing is left to do and this kernel owns it), the client and the database."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self.api.close()
        self.db.close()


def open_fixture(fixture_dir: str | os.PathLike[str] = ".", *, base_url: str | None = None,
                 tenant_id: str | None = None, timeout_ms: int | None = None, force: bool = True,
                 skip_import: bool = False) -> Fixture:
    """Open a fixture: resolve the target, import the bundle, pause other fixtures, mark the trigger time.

    Re-opening in the same kernel first cleans up the previous fixture.
    """
    global _active
    if _active is not None:
        _active.cleanup()
        _active.close()
        _active = None
    opened_at = time.time()
    directory = Path(fixture_dir).resolve()
    bundle = load_bundle(directory / "bundle.json")
    target = resolve_target(base_url=base_url, tenant_id=tenant_id, timeout_ms=timeout_ms)
    api = AlgaClient(target)
    db = Database(target.database_url or "", write_url=target.database_write_url)
    fx = Fixture(directory, bundle, target, api, db)
    _active = fx
    install_readable_frames()
    fx.timings["opened"] = opened_at
    fx._install(force=force, skip_import=skip_import)
    return fx


def run_facts(db: Database, tenant_id: str, workflow_id: str | None, since: datetime,
              run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run (else the newest of the workflow since ``since``), its steps, logs and step summary."""
    if run is None and workflow_id:
        run = run_queries.newest_run(db, workflow_id, tenant_id, since)
    facts: dict[str, Any] = {"run": run, "steps": [], "logs": [], "stepSummary": None}
    if run is not None:
        steps = run_queries.run_steps(db, run["run_id"])
        facts["steps"] = steps.to_dict("records")
        facts["logs"] = run_queries.run_logs(db, run["run_id"]).to_dict("records")
        facts["stepSummary"] = run_queries.step_summary(steps)
    return facts


def active() -> Fixture | None:
    """The fixture opened last in this kernel, if any."""
    return _active


def json_default(value: Any) -> Any:
    """JSON for what a context holds besides plain data: timestamps as ISO text, anything else as text."""
    if isinstance(value, datetime):  # pandas' Timestamp too
        return value.isoformat()
    return str(value)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` whole or not at all (a reader never sees half a file)."""
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data, default=json_default, indent=2))
    os.replace(part, path)


def teardown(context_file: str | None = None) -> None:
    """Run by the runner in the live kernel after the last cell, on pass and on fail.

    Runs cleanup hooks, then writes the fixture's context as JSON for the runner.
    """
    global _active
    path = context_file or os.environ.get(CONTEXT_FILE_ENV)
    fx = _active
    data: dict[str, Any] = {"opened": fx is not None}
    if fx is not None:
        fx.timings["cleanup_started"] = time.time()
        errors = fx.cleanup()
        fx.timings["cleanup_finished"] = time.time()
        for line in errors:
            print(line)
        data.update(fx._identity())
        try:
            data.update(fx.context())
        except Exception:  # the context is best-effort; the cleanup result matters more
            data["cleanupErrors"] = fx.cleanup_errors
            data["contextError"] = traceback.format_exc(limit=3)
        fx.close()
        _active = None
    if path:
        _write_json(Path(path), data)
