"""``fx.show_run()``'s result: a run row, its steps and its logs, displayed once per cell."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from .frames import display_frames
from .run_picture import RunPicture

if TYPE_CHECKING:
    import pandas as pd


class RunView:
    """A run row, its steps and its logs as DataFrames (``fx.show_run()``), with a status header and
    the run's picture (:class:`RunPicture`, ``.picture``; ``None`` without a run).

    In a notebook it displays itself once per cell, whether ``show_run()`` ends the cell or not.
    ``step_types`` (``harness.workflow.step_types``) adds node types to the picture's labels.
    """

    def __init__(self, header: str, run: pd.DataFrame, steps: pd.DataFrame, logs: pd.DataFrame, *,
                 workflow_key: str | None = None, step_types: Mapping[str, str] | None = None) -> None:
        self.header, self.run, self.steps, self.logs = header, run, steps, logs
        self.picture = (RunPicture(run.iloc[0].to_dict(), steps, workflow_key, dict(step_types or {}))
                        if not run.empty else None)
        self._shown_in: int | None = None

    def show(self) -> None:
        """Display the header, the picture and the three frames (shortened for reading), when in a notebook."""
        if display_frames(self.header, ("run", self.run), ("steps", self.steps), ("logs", self.logs),
                          figure=self.picture):
            self._shown_in = _execution_count()

    def _ipython_display_(self) -> None:
        if self._shown_in is None or self._shown_in != _execution_count():
            self.show()

    def __repr__(self) -> str:
        return f"RunView({self.header!r}, {len(self.steps)} steps, {len(self.logs)} logs)"


def _execution_count() -> int | None:
    from IPython import get_ipython

    shell = get_ipython()
    return shell.execution_count if shell is not None else None
