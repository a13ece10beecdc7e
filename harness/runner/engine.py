"""A papermill engine that always runs teardown in the live kernel.

Cells run under one global deadline. When a cell fails or the deadline passes (the kernel is
interrupted), the remaining cells are skipped but a teardown cell still runs in the same kernel,
so cleanup hooks registered by the notebook execute and the fixture's context is saved.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import Any

import nbformat
from nbclient.exceptions import CellExecutionError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

TEARDOWN_TAG = "harness-teardown"
TEARDOWN_SOURCE = ("# Added by the harness runner: cleanup hooks (last registered first), then the run context.\n"
                   "import harness.fixture as _harness_fixture\n"
                   "_harness_fixture.teardown()")
TEARDOWN_TIMEOUT_S = 60
ENGINE_NAME = "harness"


@dataclass
class EngineOutcome:
    """What happened outside the cells' own outputs: timeout, dead kernel, teardown failure."""

    timed_out: bool = False
    kernel_died: bool = False
    teardown_error: str | None = None


class TeardownNotebookClient(PapermillNotebookClient):
    """Runs cells until the first failure or the deadline, then the teardown cell."""

    def __init__(self, nb_man: Any, *, deadline: float | None = None, outcome: EngineOutcome | None = None,
                 **kw: Any) -> None:
        super().__init__(nb_man, interrupt_on_timeout=True, **kw)
        self.deadline = deadline
        self.outcome = outcome or EngineOutcome()

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
        return client.execute(**start_kwargs)


papermill_engines.register(ENGINE_NAME, HarnessEngine)
