"""pytest plugin: ``pytest fixtures/`` runs each fixture folder (bundle.json + test.ipynb) as one test.

A fixture folder is collected when it, or the folder holding it, is a path pytest was given (or
the folder pytest runs in, when given none). Fixture folders deeper down — test data such as
``tests/data/failing-fixture`` inside the project's own ``tests/`` — are left alone.

The target comes from ``--harness-*`` options, else the environment, else the local sandbox, as
for ``harness run``. Fixtures run like ``harness run-all`` runs them: in pre-started kernels, one
kernel per fixture, and (with pytest-xdist) each worker in a tenant of its own while one is free.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from .errors import FixtureError, HarnessError
from .runner.discovery import is_fixture_folder

if TYPE_CHECKING:
    from .runner.interrupts import StopRequest

_RUNNER = pytest.StashKey["_SessionRunner"]()
_KEY_OWNERS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "AlgaPSA workflow fixtures (alga-workflow-harness)")
    group.addoption("--harness-base-url", default=None, help="AlgaPSA base URL (default BASE_URL, else the sandbox).")
    group.addoption("--harness-tenant", default=None, help="Tenant id (default TENANT_ID).")
    group.addoption("--harness-timeout-ms", type=int, default=None,
                    help="Global timeout per fixture (default TIMEOUT_MS, else 60000).")
    group.addoption("--harness-artifacts-dir", default=None,
                    help="Where failure artifacts go (default ARTIFACTS_DIR, else ./artifacts).")


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
        from .runner.checks import check_fixture

        fixture = check_fixture(self.path)
        owners = self.config.stash.setdefault(_KEY_OWNERS, {})
        for workflow in fixture.bundle.data["workflows"]:
            owner = owners.setdefault(workflow["key"], self.path)
            if owner != self.path:
                raise FixtureError(f"workflow key {workflow['key']!r} is in both {owner} and {self.path}")
        yield FixtureItem.from_parent(self, name=self.path.name)

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
    """Runs the fixture notebook with the harness runner."""

    def runtest(self) -> None:
        """Run the fixture. The first Ctrl-C (or SIGTERM) stops it cleanly (cleanup, artifacts, a failure
        report) and then the session; a second one is pytest's ``KeyboardInterrupt`` (cleanup left in
        the fixture's journal, for ``harness cleanup``)."""
        from .runner.interrupts import StopRequest, graceful_signals

        stop = StopRequest()
        with graceful_signals(stop):
            result = _runner(self.config).run(self.path, stop)
        if result.artifacts_dir:
            self.user_properties.append(("artifacts", result.artifacts_dir))
        if stop.requested:
            self.session.shouldstop = f"{stop.describe()}: fixture {self.name} was stopped, its cleanup done"
        if not result.passed:
            raise FixtureFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FixtureFailed):
            return _describe(excinfo.value.result)
        if isinstance(excinfo.value, HarnessError):
            return f"error: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"fixture {self.name}"


def _describe(result: Any) -> str:
    from .runner.failures import failure_details

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


class _SessionRunner:
    """The target, its lanes and a kernel pool, set up when the first fixture runs."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.lanes: list[Any] | None = None
        self.pool: Any = None
        self.error: HarnessError | None = None
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        self.slot = int(worker[2:]) if worker[2:].isdigit() else 0

    def _setup(self) -> None:
        from .config import kernel_environment, resolve_target, with_overrides
        from .runner.kernels import KernelPool
        from .runner.lanes import lane_targets
        from .runner.preflight import preflight

        option = self.config.getoption
        target = resolve_target(base_url=option("harness_base_url"), tenant_id=option("harness_tenant"),
                                timeout_ms=option("harness_timeout_ms"),
                                artifacts_dir=option("harness_artifacts_dir"), start_sandbox=True)
        target = with_overrides(target, artifacts_dir=str(Path(target.artifacts_dir).resolve()))
        self.lanes = lane_targets(target)
        for lane in self.lanes:
            preflight(lane)
        self.pool = KernelPool(1, env=kernel_environment(target, {}))

    def run(self, folder: Path, stop: StopRequest | None = None) -> Any:
        from .runner.batch import run_pooled
        from .runner.lanes import claim_lane

        if self.error is not None:
            raise self.error
        if self.lanes is None:
            try:
                self._setup()
            except HarnessError as exc:
                self.error = exc  # every fixture would fail the same way: say it once per test, fast
                raise
        assert self.lanes is not None
        with claim_lane(self.lanes, self.slot) as lane:
            result, _ = run_pooled(folder, lane, self.pool, stop=stop)
        return result

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _runner(config: pytest.Config) -> _SessionRunner:
    if _RUNNER not in config.stash:
        config.stash[_RUNNER] = _SessionRunner(config)
    return config.stash[_RUNNER]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Warn once per session (not per xdist worker) when runs that died left cleanup journals."""
    if not any(isinstance(item, FixtureItem) for item in session.items):
        return
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        return
    from .cleanup import leftover_warning

    warning = leftover_warning()
    if warning:
        sys.stderr.write(warning + "\n")
        sys.stderr.flush()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _RUNNER in config.stash:
        config.stash[_RUNNER].close()
