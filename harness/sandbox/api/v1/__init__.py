"""AlgaPSA's domain REST API (``/api/v1``): API-key auth, the v1 error envelope, one module per resource."""
from __future__ import annotations

from fastapi import APIRouter

from . import project_list, project_phases, project_tasks, projects, schedules, tickets

router = APIRouter(prefix="/api/v1")
for _resource in (tickets, project_list, projects, project_phases, project_tasks, schedules):
    router.include_router(_resource.router)
