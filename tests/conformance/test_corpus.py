"""AlgaPSA's fixture corpus against the session sandbox: one test per catalog.json entry.

Each test imports the entry's bundle, runs its shared-helper recipe or its bespoke test, checks
every expectation the catalog states and runs the registered cleanups (last first) on pass and
on fail. An entry that cannot pass fails with the precise reason; nothing is skipped.
"""
from __future__ import annotations

from typing import Any, Callable

import psycopg
import pytest

from harness import HarnessError, HttpError, RunTimeout

from .bespoke import BESPOKE
from .case import Case, Session, brief
from .corpus import SKIP_REASON, corpus_dir, load_catalog
from .expectations import UnknownWording
from .recipes import RECIPES

DIRECTORY = corpus_dir()
if DIRECTORY is None:
    pytest.skip(SKIP_REASON, allow_module_level=True)
ENTRIES = load_catalog(DIRECTORY)


def driver(entry: dict[str, Any]) -> Callable[[Case], None]:
    """The recipe of the entry's shared helper, or its bespoke test."""
    helper = entry["helper"]
    found = BESPOKE.get(entry["name"]) if helper is None else RECIPES.get(helper["function"])
    if found is None:
        raise UnknownWording(f"no driver for {entry['name']!r} (helper {helper and helper['function']!r})")
    return found


def reason(exc: BaseException) -> str:
    if isinstance(exc, HttpError):
        return f"{exc.method} {exc.url} -> HTTP {exc.status} {brief(exc.details)}"
    if isinstance(exc, RunTimeout):
        return f"{exc}; recent runs: {brief(exc.recent_runs)}"
    if isinstance(exc, AssertionError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_corpus_entry(entry: dict[str, Any], conformance: Session) -> None:
    problems: list[str] = []
    case: Case | None = None
    try:
        case = conformance.open(entry)
        driver(entry)(case)
        problems += case.unexercised()
    except (AssertionError, HarnessError, psycopg.Error) as exc:
        problems.append(reason(exc))
    finally:
        if case is not None:
            problems += case.fx.cleanup()
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
