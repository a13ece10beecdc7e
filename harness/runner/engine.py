"""A papermill engine that always runs teardown in the live kernel.

Cells run under one global deadline. When a cell fails or the deadline passes (the kernel is
interrupted), the remaining cells are skipped but a teardown cell still runs in the same kernel,
so cleanup hooks registered by the notebook execute and the fixture's context is saved.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from queue import Empty
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbclient.util import run_hook
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

TEARDOWN_TAG = "harness-teardown"
TEARDOWN_SOURCE = ("# Added by the harness runner: cleanup hooks (last registered first), then the run context.\n"
                   "import harness.fixture as _harness_fixture\n"
                   "_harness_fixture.teardown()")
TEARDOWN_TIMEOUT_S = 60
ENGINE_NAME = "harness"
IOPUB_PROBE_S = 0.05  # how long one kernel_info probe waits for its IOPub echo


@dataclass
class EngineOutcome:
    """What happened outside the cells' own outputs: timeout, dead kernel, teardown failure."""

    timed_out: bool = False
    kernel_died: bool = False
    teardown_error: str | None = None


async def wait_until_ready(km: Any, kc: Any, timeout_s: float) -> None:
    """Return once IOPub echoes a kernel_info request from ``kc`` (channels started).

    Messages published before the subscription takes hold are lost, so the probe repeats until
    one comes back; unlike jupyter_client's wait_for_ready, no fixed 200 ms waits.
    """
    give_up = time.monotonic() + timeout_s
    while True:
        msg_id = kc.kernel_info()
        try:
            while (await kc.get_iopub_msg(timeout=IOPUB_PROBE_S))["parent_header"].get("msg_id") != msg_id:
                pass
            return
        except Empty:
            if not await km.is_alive():
                raise DeadKernelError("Kernel died before replying to kernel_info") from None
            if time.monotonic() > give_up:
                raise RuntimeError(f"the kernel did not answer within {timeout_s} s") from None


class TeardownNotebookClient(PapermillNotebookClient):
    """Runs cells until the first failure or the deadline, then the teardown cell."""

    def __init__(self, nb_man: Any, *, deadline: float | None = None, outcome: EngineOutcome | None = None,
                 **kw: Any) -> None:
        super().__init__(nb_man, interrupt_on_timeout=True, **kw)
        self.deadline = deadline
        self.outcome = outcome or EngineOutcome()

    async def async_start_new_kernel_client(self) -> Any:
        """For a kernel passed in as ``km=`` (already up), connect without jupyter_client's fixed waits."""
        if self.owns_km:
            return await super().async_start_new_kernel_client()
        assert self.km is not None
        self.kc = self.km.client()
        self.kc.start_channels()
        await wait_until_ready(self.km, self.kc, self.startup_timeout)
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def papermill_execute_cells(self) -> None:
        for index, cell in enumerate(self.nb.cells):
            if self._budget_spent(cell):
                break
            try:
                self.nb_man.cell_start(cell, index)
                self.execute_cell(cell, index)
            except DeadKernelError as exc:
                self.outcome.kernel_died = True
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=exc)
                break
            except CellExecutionError as ex:
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=ex)
                break
            finally:
                self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)
        self._teardown()
        if self.outcome.kernel_died:  # end now: papermill's closing kernel_info request would wait out its timeout
            raise DeadKernelError("Kernel died")

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
        if cell is not None and TEARDOWN_TAG not in cell.get("metadata", {}).get("tags", []):
            self.outcome.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def _budget_spent(self, cell: Any) -> bool:
        if self.deadline is None or cell.cell_type != "code":
            return False
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.outcome.timed_out = True
            return True
        self.timeout = max(1, int(remaining + 0.999))
        self.error_on_timeout = {"ename": "FixtureTimeout",
                                 "evalue": "the fixture's global timeout expired; the kernel was interrupted"}
        return False

    def _teardown(self) -> None:
        if self.outcome.kernel_died:
            self.outcome.teardown_error = "the kernel died; cleanup hooks could not run"
            return
        cell = nbformat.v4.new_code_cell(TEARDOWN_SOURCE, metadata={
            "tags": [TEARDOWN_TAG],
            "papermill": {"exception": None, "start_time": None, "end_time": None, "duration": None,
                          "status": "pending"}})
        self.nb.cells.append(cell)
        index = len(self.nb.cells) - 1
        self.nb_man.cell_start(cell, index)
        self.timeout = TEARDOWN_TIMEOUT_S
        self.error_on_timeout = {"ename": "TeardownTimeout", "evalue": "cleanup did not finish in time"}
        try:
            self.execute_cell(cell, index)
        except DeadKernelError:
            self.outcome.kernel_died = True
            self.outcome.teardown_error = "the kernel died during teardown"
        except CellExecutionError as exc:
            self.outcome.teardown_error = str(exc).strip().splitlines()[-1] if str(exc).strip() else "teardown failed"
        finally:
            self.nb_man.cell_complete(cell, cell_index=index)


class HarnessEngine(NBClientEngine):
    """papermill engine ``harness``: NBClient execution plus the always-run teardown."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                 execution_timeout: int | None = None, deadline: float | None = None,
                                 outcome: EngineOutcome | None = None, kernel_env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                             kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                             stderr_file=stderr_file)
        client = TeardownNotebookClient(nb_man, deadline=deadline, outcome=outcome, **final)
        start_kwargs: dict[str, Any] = {} if log_output else {"stderr": subprocess.DEVNULL}
        if kernel_env is not None:
            start_kwargs["env"] = kernel_env
        # papermill rewrites the output notebook, outputs and all, as each cell starts and ends: most of
        # the runner's CPU. It is only read once execution is over, so only the closing save writes it.
        output_path, nb_man.output_path = nb_man.output_path, None
        try:
            return client.execute(**start_kwargs)
        finally:
            nb_man.output_path = output_path
            if not client.owns_km and client.kc is not None:
                client.kc.stop_channels()  # a kernel passed in as km=: its owner kills it, the channels are ours


papermill_engines.register(ENGINE_NAME, HarnessEngine)
