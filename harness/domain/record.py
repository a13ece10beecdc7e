"""One row read by a helper: a dict with attribute access that displays as a one-row DataFrame."""
from __future__ import annotations

from typing import Any


class Record(dict):
    """A row: ``row["ticket_id"]`` or ``row.ticket_id``; in a notebook it shows as a one-row table."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no column {name!r} (columns: {', '.join(self)})") from None

    def frame(self) -> Any:
        """This row as a one-row pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([dict(self)])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.frame())
