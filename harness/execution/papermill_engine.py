"""A papermill engine that always runs teardown in the live kernel, and never waits on a stuck one.

Cells run under one global deadline. When a cell fails, the deadline passes or a stop is requested
(Ctrl-C, SIGTERM), the remaining cells are skipped and a teardown cell runs in the same kernel, so
cleanup hooks registered by the notebook execute and the fixture's context is saved. A cell (or the
teardown) still running a few seconds after its interrupt gets its kernel killed: the runner then
replays the fixture's cleanup journal itself. Whatever nbclient raises ends the cells, not the run.
"""
from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbclient.util import run_hook
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import merge_kwargs, remove_args

from .cells import TEARDOWN_TAG
from .interrupts import StopRequest
from .kernels import wait_until_ready

TEARDOWN_SOURCE = ("# Added by the harness runner: cleanup hooks (last registered first), then the run context.\n"
                   "import harness.fixture as _harness_fixture\n"
                   "_harness_fixture.teardown()")
TEARDOWN_TIMEOUT_S = 60
STOPPED_TEARDOWN_TIMEOUT_S = 20  # after Ctrl-C/SIGTERM the user is waiting: a shorter bound
INTERRUPT_GRACE_S = 3.0  # after an interrupt, how long a cell gets to stop before its kernel is killed
DEATH_NOTICE_S = 10.0  # after a kill, how long nbclient may take to notice (it checks every second)
CLOSING_TIMEOUT_S = 30  # papermill's closing kernel_info request
ENGINE_NAME = "harness"


@dataclass
class EngineOutcome:
    """What happened outside the cells' own outputs: timeout, stop request, dead kernel (and whether the
    runner killed it, in a cell or in the teardown), teardown failure, and any error of the execution
    machinery itself."""

    timed_out: bool = False
    stopped: bool = False
    kernel_died: bool = False
    kernel_killed: bool = False
    teardown_expired: bool = False
    teardown_killed: bool = False
    teardown_error: str | None = None
    execution_error: str | None = None
    notebook: Any = None
    """The executed notebook (papermill keeps it in memory when asked not to write one)."""


async def kill_kernel(km: Any) -> None:
    """SIGKILL the kernel's process group (no shutdown request: it may not be listening)."""
    try:
        await ensure_async(km.signal_kernel(signal.SIGKILL))
    except (RuntimeError, OSError):  # no kernel running any more
        pass


class TeardownNotebookClient(PapermillNotebookClient):
    """Runs cells until the first failure, the deadline or a stop request, then the teardown cell."""

    def __init__(self, nb_man: Any, *, deadline: float | None = None, outcome: EngineOutcome | None = None,
                 stop: StopRequest | None = None, **kw: Any) -> None:
        super().__init__(nb_man, **kw)
        self.deadline = deadline
        self.outcome = outcome or EngineOutcome()
        self.stop = stop

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
        self.timeout = None  # the deadline is enforced by _run_cell, not by nbclient's per-cell timeout
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type == "code" and self._must_end():
                break
            try:
                self.nb_man.cell_start(cell, index)
                self._run_cell(cell, index, self.deadline)
            except CellExecutionError as exc:
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=exc)
                break
            except DeadKernelError as exc:
                self.outcome.kernel_died = True
                self._note_dead_kernel(self.nb.cells[index])
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=exc)
                break
            except Exception as exc:  # CellTimeoutError and whatever else the machinery raises: a verdict
                self.outcome.execution_error = f"{type(exc).__name__}: {exc}"
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=exc)
                break
            finally:
                self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)
        self._teardown()
        if self.outcome.kernel_died:  # end now: papermill's closing kernel_info request would wait in vain
            raise DeadKernelError("Kernel died")
        self.timeout = CLOSING_TIMEOUT_S

    def _must_end(self) -> bool:
        if self.stop is not None and self.stop.requested:
            self.outcome.stopped = True
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.outcome.timed_out = True
            return True
        return False

    def _run_cell(self, cell: Any, index: int, until: float | None, *, teardown: bool = False) -> None:
        run_sync(self._async_run_cell)(cell, index, until, teardown)

    async def _async_run_cell(self, cell: Any, index: int, until: float | None, teardown: bool) -> None:
        """Execute one cell; at ``until`` or on a stop request (not for the teardown), interrupt the kernel,
        and kill it when the cell is still running ``INTERRUPT_GRACE_S`` later. Raises what nbclient
        raises for the cell."""
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(self.async_execute_cell(cell, index))
        stopped = asyncio.Event()
        unsubscribe = (self.stop.subscribe(lambda: loop.call_soon_threadsafe(stopped.set))
                       if not teardown and self.stop is not None else None)
        waiter = asyncio.ensure_future(stopped.wait())
        try:
            timeout = None if until is None else max(0.0, until - time.monotonic())
            await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                if teardown:
                    self.outcome.teardown_expired = True
                elif stopped.is_set():
                    self.outcome.stopped = True
                else:
                    self.outcome.timed_out = True
                await self._interrupt(task, teardown)
            task.result()
        finally:
            waiter.cancel()
            if unsubscribe is not None:
                unsubscribe()

    async def _interrupt(self, task: asyncio.Future[Any], teardown: bool) -> None:
        assert self.km is not None
        try:
            await ensure_async(self.km.interrupt_kernel())
        except (RuntimeError, OSError):  # the kernel is gone already: nbclient reports it
            pass
        await asyncio.wait({task}, timeout=INTERRUPT_GRACE_S)
        if task.done():
            return
        if teardown:
            self.outcome.teardown_killed = True
        else:
            self.outcome.kernel_killed = True
        await kill_kernel(self.km)
        await asyncio.wait({task}, timeout=DEATH_NOTICE_S)
        if not task.done():
            task.cancel()
            raise DeadKernelError("Kernel killed")

    def _note_dead_kernel(self, cell: Any) -> None:
        """Leave a readable error on the cell that was running when the kernel died or was killed."""
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return
        if self.outcome.kernel_killed:
            ename = "FixtureTimeout" if self.outcome.timed_out else "Interrupted"
            evalue = (f"the cell was still running {INTERRUPT_GRACE_S:g} s after the kernel was interrupted, "
                      "so the runner killed the kernel")
        else:
            ename, evalue = "DeadKernelError", "the kernel died while this cell was running"
        cell.setdefault("outputs", []).append(nbformat.v4.new_output(
            "error", ename=ename, evalue=f"{evalue} (noted by the harness runner)", traceback=[]))

    def _teardown(self) -> None:
        if self.outcome.kernel_died:
            return  # the runner replays the journal, and reports any cleanup callable that was lost
        cell = nbformat.v4.new_code_cell(TEARDOWN_SOURCE, metadata={
            "tags": [TEARDOWN_TAG],
            "papermill": {"exception": None, "start_time": None, "end_time": None, "duration": None,
                          "status": "pending"}})
        self.nb.cells.append(cell)
        index = len(self.nb.cells) - 1
        self.nb_man.cell_start(cell, index)
        budget = STOPPED_TEARDOWN_TIMEOUT_S if self.outcome.stopped else TEARDOWN_TIMEOUT_S
        late = f"TeardownTimeout: cleanup did not finish within {budget} s"
        try:
            self._run_cell(cell, index, time.monotonic() + budget, teardown=True)
        except DeadKernelError:
            self.outcome.kernel_died = True
            self.outcome.teardown_error = (f"{late}; the kernel was killed" if self.outcome.teardown_killed
                                           else "the kernel died during teardown")
        except CellExecutionError as exc:
            self.outcome.teardown_error = late if self.outcome.teardown_expired else (
                str(exc).strip().splitlines() or ["teardown failed"])[-1]
        except Exception as exc:  # the machinery failed: the runner replays the journal anyway
            self.outcome.teardown_error = f"teardown did not complete: {type(exc).__name__}: {exc}"
        else:
            if self.outcome.teardown_expired:  # it swallowed the interrupt, then finished late
                self.outcome.teardown_error = late
        finally:
            self.nb_man.cell_complete(cell, cell_index=index)


class HarnessEngine(NBClientEngine):
    """papermill engine ``harness``: NBClient execution plus the always-run teardown."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                 execution_timeout: int | None = None, deadline: float | None = None,
                                 outcome: EngineOutcome | None = None, stop: StopRequest | None = None,
                                 kernel_env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        # "immediate": the teardown has saved everything, so the kernel is killed rather than asked to
        # shut down (which waits on a kernel that may not be listening).
        final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                             kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                             stderr_file=stderr_file, shutdown_kernel="immediate")
        client = TeardownNotebookClient(nb_man, deadline=deadline, outcome=outcome, stop=stop, **final)
        start_kwargs: dict[str, Any] = {} if log_output else {"stderr": subprocess.DEVNULL}
        if kernel_env is not None:
            start_kwargs["env"] = kernel_env
        try:
            return client.execute(**start_kwargs)
        except BaseException as exc:
            if not isinstance(exc, Exception) and client.km is not None:
                # KeyboardInterrupt (a forced stop, pytest's Ctrl-C): no cell may outlive the run
                run_sync(kill_kernel)(client.km)
            raise
        finally:
            if outcome is not None:
                outcome.notebook = nb_man.nb
            if not client.owns_km and client.kc is not None:
                client.kc.stop_channels()  # a kernel passed in as km=: its owner kills it, the channels are ours


papermill_engines.register(ENGINE_NAME, HarnessEngine)
