"""HTTP plumbing shared by the routers: JSON error handlers, the request-body limit, the
access-token dependency and the objects a request reaches through ``app.state``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BrushworkError
from .guard import COOKIE, public_message, token_ok
from .jobs import JobManager
from .uploads import ApiError

log = logging.getLogger("brushwork.web")

SEED_MAX = 2**63 - 1
"""Largest seed (PyTorch's generators take 64-bit seeds)."""


class BodyLimit:
    """ASGI middleware: refuse a request body larger than ``limit`` from its Content-Length (413)."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.limit:
                response = JSONResponse({"error": f"request body over {self.limit / 1e6:.0f} MB"}, status_code=413)
                return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI, roots: tuple[str, ...]) -> None:
    """JSON ``{"error": ...}`` for every failure, with server paths under ``roots`` (and any
    other absolute path) taken out of the message."""

    def _error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": public_message(message, *roots)}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, str(exc))

    @app.exception_handler(BrushworkError)
    async def user_error(request: Request, exc: BrushworkError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__}); the server log has the details")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{e['loc'][-1]}: {e['msg']}" if e.get("loc") else e["msg"] for e in exc.errors()]
        return _error(422, "; ".join(parts))


async def require_token(request: Request) -> None:
    """Refuse (401) a request without the server's token (header or session cookie), when it has one."""
    token = request.app.state.settings.token
    if token is not None and not token_ok(token, request.headers.get("authorization", ""), request.cookies.get(COOKIE)):
        raise ApiError("missing or wrong access token (send Authorization: Bearer <token>)", 401)


def job_manager(request: Request) -> JobManager:
    """The app's job manager."""
    return request.app.state.manager
