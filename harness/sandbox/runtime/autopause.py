"""Auto-pause (contract §3.17): pause a workflow whose recent runs fail too often."""
from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from .recorder import Recorder

_SETTINGS = """
SELECT failure_rate_min_runs, failure_rate_threshold, is_paused FROM workflow_definitions
WHERE workflow_id = %s AND auto_pause_on_failure
"""
_RECENT = "SELECT status FROM workflow_runs WHERE workflow_id = %s ORDER BY started_at DESC LIMIT %s"


async def auto_pause_after_failure(conn: AsyncConnection, workflow_id: str, recorder: Recorder) -> bool:
    """After a failed run: when the newest ``failure_rate_min_runs`` runs (default 10) fail at least at
    ``failure_rate_threshold`` (default 0.5), pause the workflow and log it. True when paused."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SETTINGS, (workflow_id,))
        settings = await cur.fetchone()
        if settings is None or settings["is_paused"]:
            return False
        window = 10 if settings["failure_rate_min_runs"] is None else int(settings["failure_rate_min_runs"])
        threshold = 0.5 if settings["failure_rate_threshold"] is None else float(settings["failure_rate_threshold"])
        if window <= 0:
            return False
        await cur.execute(_RECENT, (workflow_id, window))
        statuses = [row["status"] for row in await cur.fetchall()]
    if len(statuses) < window:
        return False
    rate = statuses.count("FAILED") / len(statuses)
    if rate < threshold:
        return False
    await conn.execute("UPDATE workflow_definitions SET is_paused = true, updated_at = now() WHERE workflow_id = %s",
                       (workflow_id,))
    recorder.log("WARN", "Workflow auto-paused due to failure rate threshold",
                 context={"failureRate": rate, "threshold": threshold, "windowSize": window})
    await recorder.flush(conn)
    return True
