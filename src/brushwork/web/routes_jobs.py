"""Stylisation jobs over HTTP: the methods on offer, submit, list, status, cancel, result,
preview and a server-sent event stream per job."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from .http import SEED_MAX, job_manager, require_token
from .jobs import JobManager, Upload
from .store import FINISHED
from .uploads import ApiError, check_image

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])


@router.get("/methods")
def list_methods(request: Request) -> dict[str, Any]:
    """The stylisation methods on offer (the first is the default)."""
    return {"methods": [m.describe() for m in request.app.state.methods.values()]}


def _check_limits(settings, size: int, style_weight: float, iterations: int | None, initial_iterations: int | None) -> None:
    """ApiError (400) for a job option outside what this server allows."""
    if not 16 <= size <= settings.max_size:
        raise ApiError(f"size must be between 16 and {settings.max_size} px, not {size}")
    for name, value in (("iterations", iterations), ("initial_iterations", initial_iterations)):
        if value is not None and not 1 <= value <= settings.max_iterations:
            raise ApiError(f"{name} must be between 1 and {settings.max_iterations} on this server, not {value}")
    if not 0 <= style_weight <= 1e6:  # also NaN
        raise ApiError(f"style_weight must be between 0 and 1e6, not {style_weight}")


@router.post("/jobs", status_code=202)
async def submit(
    request: Request,
    content: UploadFile = File(..., description="The photo."),
    style: list[UploadFile] | None = File(None, description="Style images (none for a fast model)."),
    method: str | None = Form(None, description="A method of /api/methods (default: the first)."),
    size: int = Form(384, description="Long side of the output (px)."),
    style_weight: float = Form(1.0),
    preserve_color: str = Form("none", description="none, luminance or histogram"),
    seed: int = Form(0, ge=0, le=SEED_MAX),
    iterations: int | None = Form(None, description="Iterations at full size (gatys)."),
    initial_iterations: int | None = Form(None, description="Iterations at the first scale (gatys)."),
) -> dict[str, Any]:
    """Submit a stylisation job; answers 202 with the job (its ``id``), 429 when the queue is full."""
    settings, manager = request.app.state.settings, request.app.state.manager
    _check_limits(settings, size, style_weight, iterations, initial_iterations)
    limits = {"max_bytes": settings.max_upload_bytes, "max_pixels": settings.max_pixels}
    uploads = []
    for field, f in [("content", content)] + [(f"style {i + 1}", s) for i, s in enumerate(style or [])]:
        data = await f.read(settings.max_upload_bytes + 1)
        suffix = await run_in_threadpool(check_image, data, field, **limits)
        uploads.append(Upload(data, suffix))
    options = {"size": size, "style_weight": style_weight, "preserve_color": preserve_color, "seed": seed,
               "iterations": iterations, "initial_iterations": initial_iterations}
    options = {k: v for k, v in options.items() if v is not None}
    method = next(iter(request.app.state.methods)) if method is None else method
    job = await run_in_threadpool(manager.submit, method, options, uploads[0], uploads[1:])
    return manager.status(job)


# Status and listing are answered on the event loop itself: an indexed SQLite read takes
# microseconds, while a hop to the thread pool and back costs GIL hand-overs with the workers.
@router.get("/jobs")
async def list_jobs(request: Request, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=2**62),
                    status: str | None = Query(None, max_length=32)) -> JSONResponse:
    """Past and current jobs, newest first: ``{"jobs": [...], "total": n}``."""
    store, manager = request.app.state.store, request.app.state.manager
    jobs = store.list(limit=limit, offset=offset, status=status)
    return JSONResponse({"jobs": [manager.status(j) for j in jobs], "total": store.count()})


@router.get("/jobs/{job_id}")
async def job_status(job_id: str, manager: JobManager = Depends(job_manager)) -> JSONResponse:
    """One job: status, progress in [0, 1], ETA in seconds, error, result name."""
    return JSONResponse(manager.status(manager.get(job_id)))


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: str, manager: JobManager = Depends(job_manager)) -> dict[str, Any]:
    """Cancel a queued or running job (a running one stops at its next iteration)."""
    return manager.status(manager.cancel(job_id))


@router.get("/jobs/{job_id}/result", response_class=FileResponse)
def result(job_id: str, manager: JobManager = Depends(job_manager)) -> FileResponse:
    """The result image (PNG) of a finished job; 409 while it has none."""
    path = manager.result_path(manager.get(job_id))
    return FileResponse(path, media_type="image/png", filename=f"brushwork-{job_id[:8]}.png", content_disposition_type="inline")


@router.get("/jobs/{job_id}/preview")
def preview(job_id: str, manager: JobManager = Depends(job_manager)) -> Response:
    """The latest intermediate image (JPEG) of a running job; 404 when there is none."""
    manager.get(job_id)
    data = manager.preview(job_id)
    if data is None:
        raise ApiError("no preview for this job (not running, or none made yet)", 404)
    return Response(data, media_type="image/jpeg")


@router.get("/jobs/{job_id}/events")
async def events(job_id: str, request: Request, manager: JobManager = Depends(job_manager)) -> StreamingResponse:
    """Server-sent events: ``progress`` (status JSON, with ``preview`` as a data URL when a
    new one is ready) whenever the job changes, then ``end`` when it is finished
    (or ``shutdown`` when the server stops first)."""
    await run_in_threadpool(manager.get, job_id)
    return StreamingResponse(event_stream(manager, job_id, request), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def event_stream(manager: JobManager, job_id: str, request: Request, poll: float = 0.2, ping: float = 15.0):
    """Yield SSE messages for one job until it finishes or the client leaves."""
    seen_version, seen_previews, quiet = None, 0, 0.0
    while not await request.is_disconnected():
        if manager.closing.is_set():
            yield "event: shutdown\ndata: {}\n\n"
            return
        version = manager.version(job_id)
        if version != seen_version:
            seen_version = version
            job = await run_in_threadpool(manager.get, job_id)
            state = manager.status(job)
            data = manager.preview(job_id)
            if data is not None and state["previews"] != seen_previews:
                seen_previews = state["previews"]
                state["preview"] = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
            yield f"event: progress\ndata: {json.dumps(state)}\n\n"
            quiet = 0.0
            if job.status in FINISHED:
                yield f"event: end\ndata: {json.dumps({'status': job.status})}\n\n"
                return
        await asyncio.sleep(poll)
        quiet += poll
        if quiet >= ping:
            yield ": ping\n\n"
            quiet = 0.0
