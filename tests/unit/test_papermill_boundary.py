"""What harness/execution/papermill_engine.py relies on in papermill, nbclient and jupyter_core.

The engine subclasses papermill's NBClientEngine and PapermillNotebookClient and overrides or calls
some of their internals. pyproject.toml pins both to the tested minor versions; when a new version
changes one of these names or signatures, this fails before any fixture runs strangely.
"""
from __future__ import annotations

import inspect
from types import SimpleNamespace

import nbformat
import pytest
from jupyter_core import utils as jupyter_utils
from nbclient import NotebookClient, exceptions as nbclient_exceptions, util as nbclient_util
from papermill import engines, exceptions as papermill_exceptions, utils as papermill_utils
from papermill.clientwrap import PapermillNotebookClient

from harness.execution.papermill_engine import ENGINE_NAME, HarnessEngine, TeardownNotebookClient


def params(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_papermill_engine_entry_point_and_registry():
    assert params(engines.NBClientEngine.execute_managed_notebook)[:7] == [
        "nb_man", "kernel_name", "log_output", "stdout_file", "stderr_file", "start_timeout", "execution_timeout"]
    assert isinstance(inspect.getattr_static(engines.NBClientEngine, "execute_managed_notebook"), classmethod)
    assert engines.papermill_engines.get_engine(ENGINE_NAME) is HarnessEngine
    assert callable(papermill_utils.merge_kwargs) and callable(papermill_utils.remove_args)
    assert issubclass(papermill_exceptions.PapermillExecutionError, Exception)


def test_papermill_execute_notebook_takes_the_arguments_the_runner_passes():
    import papermill

    names = params(papermill.execute_notebook)
    for name in ("input_path", "output_path", "parameters", "engine_name", "request_save_on_cell_execute",
                 "kernel_name", "progress_bar", "log_output", "start_timeout", "cwd"):
        assert name in names
    assert inspect.signature(papermill.execute_notebook).parameters[names[-1]].kind is inspect.Parameter.VAR_KEYWORD


def test_the_execution_manager_hooks_the_engine_calls():
    manager = engines.NotebookExecutionManager
    assert params(manager.cell_start)[1:3] == ["cell", "cell_index"]
    assert params(manager.cell_exception)[1:3] == ["cell", "cell_index"]
    assert params(manager.cell_complete)[1:3] == ["cell", "cell_index"]
    assert "nb" in params(manager.__init__), "the engine keeps nb_man.nb, the executed notebook"


def test_papermill_client_runs_cells_through_papermill_execute_cells():
    assert params(PapermillNotebookClient.__init__)[:3] == ["self", "nb_man", "km"]
    assert "self.papermill_execute_cells()" in inspect.getsource(PapermillNotebookClient.execute)
    assert issubclass(TeardownNotebookClient, PapermillNotebookClient)


def test_nbclient_internals_the_engine_overrides_or_calls():
    assert inspect.iscoroutinefunction(NotebookClient.async_start_new_kernel_client)
    assert inspect.iscoroutinefunction(NotebookClient.async_execute_cell)
    assert params(NotebookClient.async_execute_cell)[1:3] == ["cell", "cell_index"]
    assert inspect.iscoroutinefunction(nbclient_util.run_hook)
    assert params(nbclient_util.run_hook)[0] == "hook"
    assert issubclass(nbclient_exceptions.DeadKernelError, RuntimeError)
    assert issubclass(nbclient_exceptions.CellExecutionError, Exception)
    assert callable(jupyter_utils.ensure_async) and callable(jupyter_utils.run_sync)


@pytest.mark.parametrize("attribute", ["owns_km", "km", "kc", "startup_timeout", "on_notebook_start", "timeout", "nb",
                                       "nb_man"])
def test_client_attributes_the_engine_reads(attribute):
    client = PapermillNotebookClient(SimpleNamespace(nb=nbformat.v4.new_notebook()))
    assert hasattr(client, attribute)
    assert client.owns_km is True, "no km= passed: the client starts (and owns) its kernel"
