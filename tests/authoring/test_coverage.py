"""``harness coverage``: a fixture is credited for what its notebook asserts, and the report names the gaps."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from harness.authoring.coverage import AREAS, area_of, measure, read_fixture, report_lines
from harness.contract.runtime_catalog import ACTION_ERRORS, NODE_TYPES, UNASSERTABLE

REPO = Path(__file__).resolve().parents[2]
ZERO = "00000000-0000-0000-0000-000000000000"


def _workflow(key: str, event: str | None, steps: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    definition = {"id": ZERO, "version": 1, "name": key, "payloadSchemaRef": "payload.TicketCreated.v1",
                  "steps": steps}
    meta = {"name": key, "description": key, "payloadSchemaRef": "payload.TicketCreated.v1",
            "payloadSchemaMode": "pinned", "pinnedPayloadSchemaRef": "payload.TicketCreated.v1",
            "trigger": {"type": "event", "eventName": event} if event else None, "isSystem": False, "isVisible": True,
            "isPaused": False, "concurrencyLimit": None, "autoPauseOnFailure": False, "failureRateThreshold": None,
            "failureRateMinRuns": None, "retentionPolicyOverride": None, **metadata}
    return {"key": key, "metadata": meta,
            "dependencies": {"actions": [], "nodeTypes": [], "schemaRefs": []},
            "draft": {"draftVersion": 1, "definition": definition},
            "publishedVersions": [{"version": 1, "definition": definition, "payloadSchemaJson": None}]}


def _fixture(root: Path, name: str, steps: list[dict[str, Any]], code: str, *, event: str | None = "TICKET_CREATED",
             extra: list[dict[str, Any]] = (), **metadata: Any) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    bundle = {"format": "alga-psa.workflow-bundle", "formatVersion": 1, "exportedAt": "2026-12-02T00:00:00.000Z",
              "workflows": [_workflow(f"fixture.{name}", event, steps, **metadata), *extra]}
    (folder / "bundle.json").write_text(json.dumps(bundle))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), nbformat.v4.new_code_cell("%matplotlib inline"),
                nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, str(folder / "test.ipynb"))
    return folder


def _call(step_id: str, action: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "action.call", "config": {"actionId": action, "version": 1, "inputMapping": {}},
            **extra}


COMMENT = _call("note", "tickets.add_comment")
ASSIGN = _call("assign", "tickets.assign")


def test_an_event_counts_only_when_the_notebook_asserts_a_run(tmp_path: Path) -> None:
    asserted = read_fixture(_fixture(tmp_path, "ticket-a", [COMMENT], "fx.post_event({})\nfx.expect_run('FAILED')"))
    silent = read_fixture(_fixture(tmp_path, "ticket-b", [COMMENT], "fx.post_event({})\nfx.wait_for_run()"))
    assert asserted.events == {"TICKET_CREATED"}
    assert silent.events == set()
    assert silent.trigger_kinds == set(), "a trigger nobody checks is not a trigger kind used"


def test_success_needs_every_step_to_succeed_and_the_step_listed(tmp_path: Path) -> None:
    steps = [{"id": "guard", "type": "control.tryCatch", "try": [ASSIGN], "catch": [COMMENT]}]
    facts = read_fixture(_fixture(tmp_path, "ticket-a", steps, (
        "fx.expect_run('SUCCEEDED', steps=['guard', 'assign', 'note'], step_status=None)\n"
        "fx.expect_step('assign', 'FAILED', code='NOT_FOUND', message='User not found')\n"
        "fx.expect_step('note')")))
    assert facts.action_success == {"tickets.add_comment"}, "a step under step_status=None proves no success"
    assert facts.action_errors == {("tickets.assign", "NOT_FOUND")}
    assert facts.node_types == {"control.tryCatch", "action.call"}


def test_an_error_code_is_credited_to_the_action_of_that_step(tmp_path: Path) -> None:
    facts = read_fixture(_fixture(tmp_path, "ticket-a", [COMMENT, ASSIGN], (
        "fx.expect_run('FAILED', steps=['note', 'assign'], step_status=None)\n"
        "fx.expect_step('assign', 'FAILED', code='VALIDATION_ERROR')\n"
        "fx.expect_step('note', 'FAILED')  # no code: nothing credited")))
    assert facts.action_errors == {("tickets.assign", "VALIDATION_ERROR")}
    assert facts.action_success == set()


def test_rest_trigger_kinds_follow_the_resource_and_the_event_it_publishes(tmp_path: Path) -> None:
    rest = read_fixture(_fixture(tmp_path, "ticket-a", [COMMENT], "fx.create.ticket()\nfx.expect_run()"))
    setup_only = read_fixture(_fixture(tmp_path, "ticket-b", [COMMENT], event="TICKET_ASSIGNED",
                                       code="t = fx.create.ticket()\nfx.post_event({})\nfx.expect_run()"))
    schedule = read_fixture(_fixture(tmp_path, "schedule-a", [COMMENT], event="SCHEDULE_ENTRY_CREATED",
                                     code="fx.create.schedule_entry(a, b)\nfx.expect_no_run()"))
    assert rest.trigger_kinds == {"/api/v1 tickets"}
    assert setup_only.trigger_kinds == {"event API"}, "a ticket made for setup is not the trigger"
    assert schedule.trigger_kinds == {"/api/v1 schedules"}


def test_each_runtime_behaviour_has_its_proof(tmp_path: Path) -> None:
    wait = {"id": "await", "type": "event.wait", "config": {"eventName": "X", "correlationKey": {"$expr": "'k'"}}}
    retried = _call("retried", "tickets.add_attachment", retry={"maxAttempts": 3, "backoffMs": 10})
    call = {"id": "call-child", "type": "control.callWorkflow", "workflowId": ZERO, "workflowVersion": 1}
    cases = {
        "retries": ([retried], "fx.expect_step('retried', 'FAILED', attempts=3)", {}),
        "idempotency ledger": ([COMMENT], "fx.find.invocations()", {}),
        "event.wait resume": ([wait], "fx.expect_run(steps=['await'])", {}),
        "event.wait timeout": ([wait], "fx.expect_step('await', 'FAILED', category='TimeoutError')", {}),
        "callWorkflow": ([call], "fx.expect_step('call-child')", {}),
        "concurrency limit": ([wait], "fx.find.runs()", {"concurrencyLimit": 1}),
        "auto-pause": ([ASSIGN], "fx.find.workflow().is_paused", {"autoPauseOnFailure": True}),
        "paused workflows": ([COMMENT], "fx.expect_no_run()", {"isPaused": True}),
        "publish and versions": ([COMMENT], "fx.publish()", {}),
        "payload schema refusals": ([COMMENT], "expect.raises(harness.HttpError, fx.post_event, {})", {}),
    }
    for index, (behaviour, (steps, code, metadata)) in enumerate(cases.items()):
        facts = read_fixture(_fixture(tmp_path, f"runtime-{index}", steps, code, **metadata))
        assert behaviour in facts.behaviours, (behaviour, facts.behaviours)
    unproven = read_fixture(_fixture(tmp_path, "runtime-none", [wait, retried], (
        "fx.expect_step('retried', 'FAILED', attempts=1)\nfx.expect_step('await', 'FAILED')\nfx.find.runs()")))
    assert unproven.behaviours == set(), "one attempt, an uncategorised failure and no limit prove nothing"


def test_areas_come_from_name_prefixes() -> None:
    assert area_of("ticket-created-hello") == "tickets"
    assert area_of("billing-project-config-created") == "billing"
    assert area_of("task-comment-added-notify") == "projects"
    assert area_of("inventory-stock-low") == "other"


def test_the_report_names_what_is_missing(tmp_path: Path) -> None:
    _fixture(tmp_path, "ticket-a", [COMMENT], "fx.post_event({})\nfx.expect_run(steps=['note'])")
    lines = report_lines(measure([tmp_path]))
    assert lines[0] == "1 fixtures"
    assert lines[1].startswith("events       1/184 triggered; not yet: APPOINTMENT_ASSIGNED,")
    assert lines[1].endswith("and 171 more (--json lists them)")
    assert lines[2].startswith(f"actions      1/{len(ACTION_ERRORS) - 1} with a success asserted; not yet: ")
    assert lines[2].endswith("(contacts.search succeeding cannot be produced: " + UNASSERTABLE[("contacts.search", "success")] + ")")
    assert "tickets.add_comment" not in lines[2]
    assert lines[3].endswith("(email.send RATE_LIMITED cannot be produced: " + UNASSERTABLE[("email.send", "RATE_LIMITED")] + ")")
    assert lines[5] == "triggers     1/4 kinds used; not yet: /api/v1 tickets, /api/v1 projects, /api/v1 schedules"
    assert lines[7].startswith("areas        tickets 1/120, ")


def _harness(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "coverage", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_cli_json_check_and_bad_paths(tmp_path: Path) -> None:
    _fixture(tmp_path / "catalog", "ticket-a", [COMMENT], "fx.post_event({})\nfx.expect_run(steps=['note'])")
    result = _harness(str(tmp_path / "catalog"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["fixtures"] == 1
    assert data["events"]["by"]["TICKET_CREATED"] == ["ticket-a"]
    assert data["events"]["covered"] == 1 and len(data["events"]["missing"]) == 183
    assert data["errorCodes"]["total"] == sum(len(codes) for codes in ACTION_ERRORS.values()) - 1
    assert data["actions"]["total"] == len(ACTION_ERRORS) - 1
    assert data["cannotBeProduced"] == {f"{a} {c}": why for (a, c), why in UNASSERTABLE.items()}
    assert data["areas"]["tickets"] == {"fixtures": 1, "minimum": AREAS["tickets"][0]}
    assert _harness(str(tmp_path / "catalog"), "--check").returncode == 1

    missing = _harness(str(tmp_path / "nowhere"))
    assert (missing.returncode, missing.stderr.strip()) == (2, f"error: {tmp_path / 'nowhere'}: no such folder")
    (tmp_path / "catalog" / "ticket-a" / "bundle.json").write_text("{")
    broken = _harness(str(tmp_path / "catalog"))
    assert broken.returncode == 2 and broken.stderr.startswith("error: ") and len(broken.stderr.splitlines()) == 1


def test_the_catalog_tables_match_the_sandbox() -> None:
    from harness.sandbox.actions.registry import ACTIONS
    from harness.sandbox.runtime.nodes import NODE_HANDLERS

    assert set(ACTION_ERRORS) == {action_id for action_id, _ in ACTIONS}
    assert set(NODE_TYPES) == set(NODE_HANDLERS) | {"control.if", "control.forEach", "control.tryCatch",
                                                     "control.callWorkflow", "control.return"}


@pytest.mark.parametrize("section", ["events", "actions", "errorCodes", "nodeTypes", "triggerKinds", "behaviours"])
def test_the_committed_catalog_covers_everything(section: str) -> None:
    data = json.loads(_harness("fixtures", "--json").stdout)
    assert data[section]["missing"] == [], f"{section}: no fixture covers {data[section]['missing']}"
