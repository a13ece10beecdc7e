"""What one pytest process needs to run fixtures: the target, its lanes and pre-started kernels.

Set up when the process's first fixture runs (so sessions without fixtures never touch a target),
on the local sandbox when nothing is configured. Each pytest-xdist worker has its own, prefers the
lane of its number, and warms the kernel of its next fixture while one runs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..config import Target, kernel_environment, with_overrides
from ..errors import HarnessError
from ..execution.interrupts import StopRequest
from ..execution.kernels import KernelPool
from ..execution.lanes import claim_lane, lane_targets
from ..execution.preflight import preflight
from ..execution.single import FixtureResult, run_fixture
from ..execution.checks import FixtureFolder
from ..local_sandbox import resolve_or_start


@dataclass(frozen=True)
class RunOptions:
    """How fixtures run, from the ``--harness-*`` options."""

    force: bool = True
    skip_import: bool = False


def target_fields(config: pytest.Config) -> dict[str, object]:
    """The target settings given as ``--harness-*`` options (``None`` where not given)."""
    option = config.getoption
    return {"base_url": option("harness_base_url"), "tenant_id": option("harness_tenant"),
            "database_url": option("harness_database_url"), "database_write_url": option("harness_database_write_url"),
            "cookie_file": option("harness_cookie_file"), "timeout_ms": option("harness_timeout_ms"),
            "artifacts_dir": option("harness_artifacts_dir")}


class FixtureSession:
    """The target, its lanes and a kernel pool of one pytest process."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options = RunOptions(force=not config.getoption("harness_no_force"),
                                  skip_import=config.getoption("harness_skip_import"))
        self.lanes: list[Target] | None = None
        self.pool: KernelPool | None = None
        self.error: HarnessError | None = None
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        self.slot = int(worker[2:]) if worker[2:].isdigit() else 0

    def prepare(self) -> None:
        """Resolve the target, check its lanes and start warming a kernel (once; errors are kept for
        :meth:`run` to raise for every fixture, fast)."""
        if self.lanes is not None or self.error is not None:
            return
        try:
            self._setup()
        except HarnessError as exc:
            self.error = exc

    def _setup(self) -> None:
        target = resolve_or_start(**target_fields(self.config))
        target = with_overrides(target, artifacts_dir=str(Path(target.artifacts_dir).resolve()))
        lanes = lane_targets(target)
        pool = KernelPool(1, env=kernel_environment(target, {}))  # warms while the lanes are checked
        try:
            for lane in lanes if not self.config.getoption("harness_no_preflight") else []:
                preflight(lane)
        except BaseException:
            pool.close()
            raise
        self.pool, self.lanes = pool, lanes

    def run(self, fixture: FixtureFolder, stop: StopRequest, *, last: bool = False) -> tuple[FixtureResult, str]:
        """Run one fixture in a lane of its own and a warm kernel; return the verdict and the tenant it ran in.
        ``last``: no other fixture follows in this process, so no kernel warms up for one."""
        self.prepare()
        if self.error is not None:
            raise self.error
        assert self.lanes is not None and self.pool is not None
        lease = self.pool.lease(replace=not last)
        try:
            with claim_lane(self.lanes, self.slot) as lane:
                result = run_fixture(fixture, lane, force=self.options.force, skip_import=self.options.skip_import,
                                     kernel=lease, stop=stop)
                return result, lane.tenant_id
        finally:
            lease.release()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
