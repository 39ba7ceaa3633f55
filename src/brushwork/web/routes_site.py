"""The studio page, the session cookie and the health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse

from .guard import COOKIE, session_value
from .http import require_token

STATIC = Path(__file__).with_name("static")

router = APIRouter()
api = APIRouter(dependencies=[Depends(require_token)])


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@api.post("/api/session")
def session(request: Request) -> JSONResponse:
    """Trade the ``Authorization`` header for an HttpOnly, SameSite=Strict session cookie
    (what the page's images and event streams carry); nothing to do without a token."""
    token = request.app.state.settings.token
    response = JSONResponse({"ok": True, "token_required": token is not None})
    if token is not None:
        response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict", path="/")
    return response


@api.get("/api/health")
async def health(request: Request) -> dict[str, Any]:
    """Whether the service is up, its workers and queue."""
    settings = request.app.state.settings
    return {"ok": True, "workers": settings.workers, "queued": request.app.state.manager.pending(), "queue_size": settings.queue_size}
