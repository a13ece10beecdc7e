"""AlgaPSA's fixture corpus, read in place from ``$ALGA_CORPUS_DIR`` (never copied into the repo)."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

CORPUS_ENV = "ALGA_CORPUS_DIR"
SKIP_REASON = f"{CORPUS_ENV} is not set: point it at AlgaPSA's fixture corpus (e.g. ../shared/corpus) to run it"


def corpus_dir() -> Path | None:
    """The corpus folder named by ``$ALGA_CORPUS_DIR``, or ``None`` when the variable is unset."""
    value = os.environ.get(CORPUS_ENV, "").strip()
    return Path(value).resolve() if value else None


@lru_cache(maxsize=None)
def load_catalog(directory: Path) -> list[dict[str, Any]]:
    """Every catalog entry, in catalog order."""
    path = directory / "catalog.json"
    if not path.is_file():
        raise FileNotFoundError(f"{CORPUS_ENV}={directory} has no catalog.json")
    return json.loads(path.read_text(encoding="utf-8"))
