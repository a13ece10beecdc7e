"""pytest plugin: ``pytest fixtures/`` runs each fixture folder (bundle.json + test.ipynb) as one test.

A fixture folder is collected when it, or the folder holding it, is a path pytest was given (or
the folder pytest runs in, when given none). Fixture folders deeper down (test data such as
``tests/data/failing-fixture`` inside the project's own ``tests/``) are left alone.

The target comes from ``--harness-*`` options, else the environment, else the local sandbox, as
for ``harness run``. Each fixture prints its ``PASS``/``FAIL`` line; its verdict (test id, run,
artifacts) goes into every report as properties; pytest-html links each failure's rendered notebook.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from ..errors import FixtureError, HarnessError
from ..execution.discovery import is_fixture_folder

if TYPE_CHECKING:
    from ..execution.checks import FixtureFolder
    from .session import FixtureSession

_SESSION = pytest.StashKey["FixtureSession"]()
_KEY_OWNERS = pytest.StashKey[dict]()
STOPPED_BY = pytest.StashKey[int]()
"""The signal that stopped the session (in the xdist controller, or the only process)."""
_CHILDREN = pytest.StashKey[set]()
_NEXT_ITEM = pytest.StashKey["pytest.Item | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "AlgaPSA workflow fixtures (alga-workflow-harness)")
    group.addoption("--harness-base-url", default=None, help="AlgaPSA base URL (default BASE_URL, else the sandbox).")
    group.addoption("--harness-tenant", default=None, help="Tenant id (default TENANT_ID).")
    group.addoption("--harness-database-url", default=None, help="Postgres URL for assertions (default DATABASE_URL).")
    group.addoption("--harness-database-write-url", default=None,
                    help="Postgres URL for cleanup writes (default DATABASE_WRITE_URL, else the database URL).")
    group.addoption("--harness-cookie-file", default=None, help="File holding the session Cookie header value.")
    group.addoption("--harness-timeout-ms", type=int, default=None,
                    help="Global timeout per fixture (default TIMEOUT_MS, else 60000).")
    group.addoption("--harness-artifacts-dir", default=None,
                    help="Where failure artifacts go (default ARTIFACTS_DIR, else ./artifacts).")
    group.addoption("--harness-no-force", action="store_true", help="Refuse to overwrite workflows with the same key.")
    group.addoption("--harness-skip-import", action="store_true", help="Use the workflows already in the database.")
    group.addoption("--harness-no-preflight", action="store_true",
                    help="Skip each process's target and credential check (harness run-all has done it once).")


def pytest_configure(config: pytest.Config) -> None:
    """Before any worker starts, when fixtures are to run: one kernel fork server for the whole session
    (every pytest-xdist worker forks its kernels from it), importing while pytest collects."""
    if hasattr(config, "workerinput") or config.option.collectonly or not _runs_fixtures(config):
        return
    from ..execution import forkserver

    server = contextlib.ExitStack()
    server.enter_context(forkserver.shared())
    config.add_cleanup(server.close)


def _runs_fixtures(config: pytest.Config) -> bool:
    """Whether a path pytest was given is a fixture folder or holds one (what collection will take)."""
    for root in _requested_roots(config):
        if is_fixture_folder(root) or (root.is_dir() and any(is_fixture_folder(c) for c in root.iterdir())):
            return True
    return False


def _requested_roots(config: pytest.Config) -> set[Path]:
    base = config.invocation_params.dir
    return {(base / arg.split("::", 1)[0]).resolve() for arg in config.args}


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not is_fixture_folder(path):
        return None
    roots = _requested_roots(parent.config)
    if path.resolve() not in roots and path.resolve().parent not in roots:
        return None
    return FixtureDirectory.from_parent(parent, path=path)


class FixtureDirectory(pytest.Directory):
    """A fixture folder: one test item, named after the folder."""

    def collect(self) -> Iterator[pytest.Item]:
        """One item, once the folder's notebook and bundle pass the checks and its workflow keys are
        not another collected fixture's (else a collection error: pytest exits 2 before running any)."""
        from ..execution.checks import check_fixture

        fixture = check_fixture(self.path)
        owners = self.config.stash.setdefault(_KEY_OWNERS, {})
        for workflow in fixture.bundle.data["workflows"]:
            owner = owners.setdefault(workflow["key"], self.path)
            if owner != self.path:
                raise FixtureError(f"workflow key {workflow['key']!r} is in both {owner} and {self.path}")
        yield FixtureItem.from_parent(self, name=self.path.name, fixture=fixture)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, HarnessError):
            return f"error: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)


class FixtureFailed(Exception):
    """The fixture ran and failed; ``result`` holds the verdict."""

    def __init__(self, result: Any) -> None:
        super().__init__(result.reason)
        self.result = result


class FixtureItem(pytest.Item):
    """Runs the fixture notebook in a pre-started kernel, in a lane (tenant) of its own."""

    def __init__(self, *, fixture: "FixtureFolder", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixture = fixture  # checked at collection

    def runtest(self) -> None:
        """Run the fixture. The first Ctrl-C (or SIGTERM) stops it cleanly (cleanup, artifacts, a failure
        report) and then the session; a second one is pytest's ``KeyboardInterrupt`` (cleanup left in
        the fixture's journal, for ``harness cleanup``)."""
        from ..execution.interrupts import StopRequest, graceful_signals
        from .report import properties

        stop = StopRequest()
        last = self.config.stash.get(_NEXT_ITEM, self) is None  # unknown (self) counts as "more may follow"
        with graceful_signals(stop):
            result, tenant_id = _session(self.config).run(self.fixture, stop, last=last)
        self.user_properties.extend(properties(result, tenant_id))
        if stop.requested:
            self.config.stash[STOPPED_BY] = stop.signum or 2
            self.session.shouldstop = f"{stop.describe()}: fixture {self.name} was stopped, its cleanup done"
        if not result.passed:
            raise FixtureFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FixtureFailed):
            from .report import describe_failure

            return describe_failure(excinfo.value.result)
        if isinstance(excinfo.value, HarnessError):
            return f"error: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"fixture {self.name}"


def _session(config: pytest.Config) -> "FixtureSession":
    from .session import FixtureSession

    if _SESSION not in config.stash:
        config.stash[_SESSION] = FixtureSession(config)
    return config.stash[_SESSION]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Note what runs after this item in this process (xdist tells a worker only once it knows)."""
    item.config.stash[_NEXT_ITEM] = nextitem


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not isinstance(item, FixtureItem) or report.when != "call" or report.passed:
        return
    from .report import html_extras, verdict

    found = verdict(report)
    if found is not None:
        report.extras = [*getattr(report, "extras", []), *html_extras(item.config, found)]  # type: ignore[attr-defined]


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """A fixture's own line replaces pytest's progress mark for it (see ``pytest_runtest_logreport``)."""
    from .report import verdict

    if report.when == "call" and verdict(report) is not None:
        return report.outcome, "", report.outcome.upper()
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Print ``PASS <testId> <ms>`` / ``FAIL <testId> <ms> <reason>`` as each fixture ends (in the
    xdist controller, or the only process)."""
    if report.when != "call":
        return
    from .report import summary_line, verdict

    found = verdict(report)
    if found is None:
        return
    sys.stdout.write(summary_line(report, found) + "\n")
    sys.stdout.flush()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Warn once per session (not per xdist worker) when runs that died left cleanup journals; print
    verdict lines on lines of their own."""
    if not any(isinstance(item, FixtureItem) for item in session.items):
        return
    if not session.config.option.collectonly:
        _session(session.config).prepare()  # the first kernel warms up while the session starts
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and all(isinstance(item, FixtureItem) for item in session.items):
        reporter.showfspath = False
    if hasattr(session.config, "workerinput") and session.config.workerinput.get("workerid") != "gw0":
        return
    from ..cleanup import leftover_warning

    warning = leftover_warning()
    if warning:
        sys.stderr.write(warning + "\n")
        sys.stderr.flush()


def _xdist_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None)) \
        and getattr(config.option, "dist", "no") != "no"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        _stop_between_fixtures(session)
    if _xdist_controller(session.config):
        from .signals import child_pids

        session.config.stash[_CHILDREN] = child_pids()


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """In an xdist controller: the first signal lets the workers stop their fixtures cleanly."""
    if not _xdist_controller(session.config) or _CHILDREN not in session.config.stash:
        yield
        return
    from ..execution.interrupts import StopRequest
    from .signals import child_pids, forwarding_signals

    stop = StopRequest()
    workers = sorted(child_pids() - session.config.stash[_CHILDREN])
    try:
        with forwarding_signals(stop, workers):
            yield
    finally:
        if stop.signum:
            session.config.stash[STOPPED_BY] = stop.signum


def _stop_between_fixtures(session: pytest.Session) -> None:
    """In an xdist worker, a stop passed on by the controller while no fixture runs ends the session
    (while one runs, the fixture's own handler stops it cleanly)."""
    import signal

    from ..execution.interrupts import PASSED_ON

    def handler(signum: int, frame: object) -> None:
        session.config.stash[STOPPED_BY] = PASSED_ON[signum]
        session.shouldstop = f"{signal.Signals(PASSED_ON[signum]).name}: stopped before its next fixture"

    for signum in PASSED_ON:
        signal.signal(signum, handler)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SESSION in config.stash:
        config.stash[_SESSION].close()
    if hasattr(config, "workerinput"):
        config.add_cleanup(exit_quickly)  # an xdist worker ends with its session


def exit_quickly() -> None:
    """For a process about to exit: leave the objects it holds to the operating system. Python's
    shutdown would otherwise search them all for reference cycles (0.15-0.3 s with this library's
    imports), and the xdist controller, or the shell, waits for that."""
    import gc

    gc.freeze()
