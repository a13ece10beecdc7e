"""The conformance suite's session (one sandbox tenant, client and database) and its pass count."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from harness import AlgaClient, Target

from .case import Session
from .corpus import CORPUS_ENV, corpus_dir, load_catalog

RUN_TIMEOUT_ENV = "CONFORMANCE_RUN_TIMEOUT_MS"
DEFAULT_RUN_TIMEOUT_MS = 10_000  # sandbox runs take milliseconds; AlgaPSA's harness allows 60 s
CORPUS_TEST = "test_corpus.py::"


@pytest.fixture(scope="session")
def conformance(sandbox_env: dict[str, str]) -> Iterator[Session]:
    """The harness session every corpus entry runs in."""
    directory = corpus_dir()
    assert directory is not None, f"{CORPUS_ENV} must be set for the conformance suite"
    target = Target(base_url=sandbox_env["BASE_URL"], tenant_id=sandbox_env["TENANT_ID"],
                    database_url=sandbox_env["DATABASE_URL"], database_write_url=sandbox_env["DATABASE_WRITE_URL"],
                    api_key=sandbox_env["WORKFLOW_HARNESS_API_KEY"],
                    timeout_ms=int(os.environ.get(RUN_TIMEOUT_ENV) or DEFAULT_RUN_TIMEOUT_MS), is_sandbox=True)
    api, db = AlgaClient(target), target.database()
    yield Session(target, api, db, directory)
    api.close()
    db.close()


_passed: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if CORPUS_TEST in report.nodeid and report.when == "call" and report.passed:
        _passed.add(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    directory: Path | None = corpus_dir()
    if directory is None:
        terminalreporter.write_line(f"conformance: not run ({CORPUS_ENV} is not set)")
        return
    terminalreporter.write_line(f"conformance: {len(_passed)}/{len(load_catalog(directory))} corpus entries passed")
