"""Error types shared by the library, the runner and the CLI."""
from __future__ import annotations

from typing import Any


class HarnessError(Exception):
    """A problem the user can fix (bad input, bad configuration, unreachable target).

    The CLI prints its message as one line and exits non-zero, without a traceback.
    """


class FixtureError(HarnessError):
    """The fixture folder, its bundle or its notebook is malformed."""


class ConfigError(HarnessError):
    """The target configuration is incomplete or inconsistent."""


class TargetUnreachable(HarnessError):
    """The AlgaPSA server or its database cannot be reached."""


class ReadOnlyViolation(HarnessError):
    """A statement on the read-only assertion session (``fx.db``) that could write or change the session.

    Deliberately not an ``AssertionError``: the fixture asked for something it may not do, which is not
    a failed expectation about the product. Writes go through ``fx.db.writer()``.
    """


class HttpError(HarnessError):
    """A non-2xx response. ``details`` is the parsed JSON body (or ``{"error": <text>}``)."""

    def __init__(self, status: int, details: Any, method: str = "", url: str = "") -> None:
        self.status = status
        self.details = details
        self.method = method
        self.url = url
        error = details.get("error") if isinstance(details, dict) else None
        if isinstance(error, dict):  # /api/v1 envelope: {"error": {"code", "message"}}
            error = error.get("message") or error.get("code")
        super().__init__(f"HTTP {status}: {error or 'Request failed'}")


class RunTimeout(HarnessError, AssertionError):
    """No terminal workflow run appeared within the allowed time."""

    def __init__(self, message: str, recent_runs: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.recent_runs = recent_runs or []


def single_line(text: str) -> str:
    """``text`` on one line: its non-blank lines, stripped, joined by ``; ``."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def reason_of(exc: BaseException) -> str:
    """What ``exc`` says, on one line (a driver's first line is the reason, the next ones its hints);
    the exception's type name when it says nothing."""
    return single_line(str(exc)) or type(exc).__name__
