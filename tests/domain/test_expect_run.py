"""fx.expect_run: the run's status, event type, step order and step statuses in one assertion."""
from __future__ import annotations

import pytest

from harness.errors import FixtureError
from harness.expect import ExpectationFailed
from harness.fixture import Fixture

from .conftest import golden_run

STEPS = ["mark-ready", "say-hello", "finish"]


def test_a_run_matching_everything_passes_and_returns_its_steps(fx: Fixture) -> None:
    with pytest.raises(FixtureError, match="no run yet"):
        fx.expect_run()
    golden_run(fx)
    steps = fx.expect_run("SUCCEEDED", event_type="TICKET_CREATED", steps=STEPS)
    assert list(steps.definition_step_id) == STEPS and fx.run_id == fx.run["run_id"]
    assert fx.summary()["workflow_key"] == "fixture.ticket-created-hello"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"status": "FAILED"}, "run status: expected 'FAILED', got 'SUCCEEDED'"),
    ({"event_type": "TICKET_UPDATED"}, "event type"),
    ({"steps": STEPS[:2]}, "steps in execution order"),
    ({"step_status": "FAILED"}, "steps not FAILED"),
])
def test_each_part_that_differs_fails_with_its_own_message(fx: Fixture, kwargs: dict, message: str) -> None:
    golden_run(fx)
    with pytest.raises(ExpectationFailed, match=message):
        fx.expect_run(**kwargs)
