"""What the runner does for a fixture however its notebook ended: the cleanup journal, and the
context a kernel that died before its teardown could not write.

The runner opens (and holds) the fixture's journal before the kernel starts and passes its path to
the kernel, which appends each declarative cleanup action as it is registered. After the notebook,
whatever is still pending is replayed from the runner, last registered first.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg

from ..cleanup import CleanupSession, Journal, journal_dir, new_journal_path, read_journal, replay, start_journal
from ..config import Target
from ..errors import HarnessError
from ..fixture import json_default, run_facts
from ..redaction import redact_text

REPLAY_PREFIX = "runner replay: "


def open_journal(test_id: str, target: Target) -> Journal:
    """A new journal for one execution of ``test_id``, held by this process, its header written."""
    return start_journal(new_journal_path(test_id, journal_dir()), hold=True, test_id=test_id, target=target)


def replay_pending(journal: Journal, target: Target) -> list[str]:
    """Replay what the kernel left pending (LIFO); the errors, each prefixed ``runner replay:``."""
    if not read_journal(journal.path).pending:
        return []  # the usual case: nothing registered, or the teardown did it all
    with CleanupSession.for_target(target) as session:
        return [REPLAY_PREFIX + message for message in replay(journal, session)]


def complete_context(context: dict[str, Any], target: Target) -> dict[str, Any]:
    """The kernel's early facts (written right after the import) completed from the database: the
    run since the trigger, its steps and logs. Returned unchanged unless the kernel ended before
    writing its full context."""
    if not context.get("partial"):
        return context
    lost = list(context.get("pendingCallables") or [])
    data = {**context, "run": None, "steps": [], "logs": [], "stepSummary": None,
            "cleanupErrors": [f"the kernel ended before its teardown finished: {len(lost)} cleanup callable(s) "
                              f"registered in the kernel did not complete ({', '.join(repr(label) for label in lost)})"]
            if lost else [],
            "contextSource": "runner: the kernel ended before its teardown; run, steps and logs read from "
                             "the database afterwards"}
    data.pop("partial", None)
    data.pop("pendingCallables", None)
    workflow_id, since = context.get("workflowId"), context.get("triggerStartedAt")
    if not (workflow_id and since):
        return data
    try:
        db = target.database()
        try:
            data.update(run_facts(db, target.tenant_id, workflow_id, datetime.fromisoformat(since)))
        finally:
            db.close()
    except (HarnessError, psycopg.Error, ValueError) as exc:
        data["contextError"] = redact_text(f"{type(exc).__name__}: {exc}", target.secrets())
    return json.loads(json.dumps(data, default=json_default))  # plain JSON, like the kernel writes
