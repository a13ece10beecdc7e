"""The sandbox's FastAPI application: AlgaPSA's HTTP surface over a real Postgres."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from starlette.exceptions import HTTPException

from .api import v1, workflows
from .api.v1.common import from_db_error, unexpected_error
from .auth import Caller
from .http_errors import V1ApiError, WorkflowApiError
from ..contract.event_payloads import default_registry
from .runtime import expression_pool
from .runtime.expression_pool import ExpressionPool
from .runtime.launcher import Executor

log = logging.getLogger("harness.sandbox")
# The sandbox is a test double: commits need not wait for the WAL to reach disk (a crash of the
# machine may lose the last few milliseconds of writes, never consistency).
SESSION_OPTIONS = "-c synchronous_commit=off"


def create_app(database_url: str, *, sessions: dict[str, Caller] | None = None, workers: int = 4,
               pool_size: int = 10, expression_workers: int = expression_pool.DEFAULT_SIZE) -> FastAPI:
    """Build the app; the connection pool, the expression workers and the run executor live for the
    app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        expressions = ExpressionPool(expression_workers)
        pool = AsyncConnectionPool(database_url, min_size=2, max_size=pool_size, open=False,
                                   kwargs={"autocommit": True, "options": SESSION_OPTIONS})
        await asyncio.gather(expressions.start(), pool.open(wait=True))
        expression_pool.install(expressions)
        executor = Executor(pool, workers=workers)
        app.state.pool, app.state.executor, app.state.expressions = pool, executor, expressions
        executor.start()
        await executor.resume_pending()
        try:
            yield
        finally:
            await executor.stop()
            expression_pool.install(None)
            await expressions.close()
            await pool.close()

    app = FastAPI(title="AlgaPSA workflow sandbox", lifespan=lifespan, docs_url="/__sandbox/docs",
                  redoc_url=None, openapi_url="/__sandbox/openapi.json")
    app.state.schemas = default_registry()
    app.state.sessions = sessions or {}
    app.include_router(workflows.router)
    app.include_router(v1.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.exception_handler(WorkflowApiError)
    async def workflow_error(_: Request, exc: WorkflowApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(V1ApiError)
    async def v1_error(_: Request, exc: V1ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if _is_v1(request):
            code = {404: "NOT_FOUND", 405: "VALIDATION_ERROR"}.get(exc.status_code, "VALIDATION_ERROR")
            return JSONResponse(V1ApiError(code, str(exc.detail)).body(), status_code=exc.status_code)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _is_v1(request):
            error = V1ApiError("VALIDATION_ERROR", "Validation failed", exc.errors())
            return JSONResponse(error.body(), status_code=error.status)
        return JSONResponse({"error": "Invalid request", "details": exc.errors()}, status_code=400)

    @app.exception_handler(psycopg.Error)
    async def database_error(request: Request, exc: psycopg.Error) -> JSONResponse:
        if not _is_v1(request):
            return await unexpected(request, exc)
        mapped = from_db_error(exc)
        if mapped.status >= 500:
            log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(mapped.body(), status_code=mapped.status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _is_v1(request):  # handleApiError's production body
            return JSONResponse(unexpected_error().body(), status_code=500)
        return JSONResponse({"error": f"Internal error: {type(exc).__name__}"}, status_code=500)

    return app


def _is_v1(request: Request) -> bool:
    return request.url.path.startswith("/api/v1/")
