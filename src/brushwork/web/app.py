"""The FastAPI app: HTTP API for stylisation jobs and GAN runs, and the studio page.

Build it with :func:`create_app`; ``brushwork serve`` runs it with uvicorn. Every
error is JSON ``{"error": "..."}`` with a 4xx status. Handlers that touch SQLite, the
disk or a model are plain functions (FastAPI runs them in its thread pool) so the event
loop never waits on them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BrushworkError
from .gan import GanRuns, interpolate_seeds, sample_grid
from .guard import COOKIE, RedactTokens, RequestGuard, allowed_hosts, public_message, session_value, token_ok
from .jobs import JobManager, Upload
from .methods import METHODS, Method, feedforward_methods, translation_methods
from .store import FINISHED, JobStore
from .uploads import ApiError, check_image

STATIC = Path(__file__).with_name("static")
log = logging.getLogger("brushwork.web")


@dataclass
class WebSettings:
    """How the service runs.

    ``data_dir``: job database, inputs and results (``jobs/``), GAN runs (``runs/``) and
    feed-forward model folders (``models/``, each offered as a method next to the packaged models);
    ``workers``: jobs run at once; ``queue_size``: jobs waiting before submissions get 429;
    ``max_upload_bytes``: per image (default 20 MB); ``max_pixels``: per input image;
    ``max_size``: largest output long side a client may ask for; ``max_iterations``: most
    optimisation steps a job may ask for (each of ``iterations`` and ``initial_iterations``);
    ``max_frames``: most frames of a GAN interpolation strip; ``token``: when set, every
    ``/api`` request needs ``Authorization: Bearer <token>`` or the session cookie
    ``POST /api/session`` sets from it (never ``?token=``); ``host``: the address the server
    is bound to and ``allowed_hosts``: more ``Host`` names it answers to (see
    :func:`~brushwork.web.guard.allowed_hosts`; ``("*",)``: any);
    ``preview_interval``: seconds between live previews; ``worker_nice``: how much lower
    the workers' CPU priority is than the web server's.
    """

    data_dir: Path
    workers: int = 1
    queue_size: int = 8
    max_upload_bytes: int = 20_000_000
    max_pixels: int | None = 16_000_000
    max_size: int = 2048
    max_iterations: int = 1000
    max_frames: int = 32
    token: str | None = None
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    preview_interval: float = 1.0
    worker_nice: int = 10


class _BodyLimit:
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


SEED_MAX = 2**63 - 1
"""Largest seed (PyTorch's generators take 64-bit seeds)."""


def _install_error_handlers(app: FastAPI, roots: tuple[str, ...]) -> None:
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


def _token_check(token: str | None):
    async def check(request: Request) -> None:
        if token is not None and not token_ok(token, request.headers.get("authorization", ""), request.cookies.get(COOKIE)):
            raise ApiError("missing or wrong access token (send Authorization: Bearer <token>)", 401)

    return check


def create_app(settings: WebSettings, *, methods: dict[str, Method] | None = None) -> FastAPI:
    """The app for ``settings``; ``methods`` replaces the method registry (tests, plug-ins)."""
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    table = {**(METHODS if methods is None else methods), **feedforward_methods(data_dir / "models"),
             **translation_methods(data_dir / "runs")}
    store = JobStore(data_dir / "jobs.sqlite3")
    manager = JobManager(store, data_dir, workers=settings.workers, queue_size=settings.queue_size,
                         max_pixels=settings.max_pixels, preview_interval=settings.preview_interval, methods=table,
                         worker_nice=settings.worker_nice)
    runs = GanRuns(data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.recovered = manager.start()
        yield
        await run_in_threadpool(manager.stop)
        store.close()

    # No /docs or /redoc: FastAPI's viewers load their scripts from a CDN; /openapi.json stays.
    app = FastAPI(title="Brushwork studio", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Neural style transfer jobs and GAN sampling over HTTP.")
    app.state.manager, app.state.settings = manager, settings
    app.add_middleware(_BodyLimit, limit=settings.max_upload_bytes * 5 + 1_000_000)
    app.add_middleware(RequestGuard, hosts=allowed_hosts(settings.host, tuple(settings.allowed_hosts)))
    roots = (str(settings.data_dir), str(data_dir.resolve()))
    _install_error_handlers(app, roots)
    manager.public_roots = roots
    auth = [Depends(_token_check(settings.token))]

    @app.post("/api/session", dependencies=auth)
    def session() -> JSONResponse:
        """Trade the ``Authorization`` header for an HttpOnly, SameSite=Strict session cookie
        (what the page's images and event streams carry); nothing to do without a token."""
        response = JSONResponse({"ok": True, "token_required": settings.token is not None})
        if settings.token is not None:
            response.set_cookie(COOKIE, session_value(settings.token), httponly=True, samesite="strict", path="/")
        return response

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", dependencies=auth)
    async def health() -> dict[str, Any]:
        """Whether the service is up, its workers and queue."""
        return {"ok": True, "workers": settings.workers, "queued": manager.pending(), "queue_size": settings.queue_size}

    @app.get("/api/methods", dependencies=auth)
    def list_methods() -> dict[str, Any]:
        """The stylisation methods on offer (the first is the default)."""
        return {"methods": [m.describe() for m in table.values()]}

    @app.post("/api/jobs", status_code=202, dependencies=auth)
    async def submit(
        content: UploadFile = File(..., description="The photo."),
        style: list[UploadFile] | None = File(None, description="Style images (none for a fast model)."),
        method: str = Form(next(iter(table))),
        size: int = Form(384, description="Long side of the output (px)."),
        style_weight: float = Form(1.0),
        preserve_color: str = Form("none", description="none, luminance or histogram"),
        seed: int = Form(0, ge=0, le=SEED_MAX),
        iterations: int | None = Form(None, description="Iterations at full size (gatys)."),
        initial_iterations: int | None = Form(None, description="Iterations at the first scale (gatys)."),
    ) -> dict[str, Any]:
        """Submit a stylisation job; answers 202 with the job (its ``id``), 429 when the queue is full."""
        if not 16 <= size <= settings.max_size:
            raise ApiError(f"size must be between 16 and {settings.max_size} px, not {size}")
        for name, value in (("iterations", iterations), ("initial_iterations", initial_iterations)):
            if value is not None and not 1 <= value <= settings.max_iterations:
                raise ApiError(f"{name} must be between 1 and {settings.max_iterations} on this server, not {value}")
        if not 0 <= style_weight <= 1e6:  # also NaN
            raise ApiError(f"style_weight must be between 0 and 1e6, not {style_weight}")
        limits = {"max_bytes": settings.max_upload_bytes, "max_pixels": settings.max_pixels}
        uploads = []
        for field, f in [("content", content)] + [(f"style {i + 1}", s) for i, s in enumerate(style or [])]:
            data = await f.read(settings.max_upload_bytes + 1)
            suffix = await run_in_threadpool(check_image, data, field, **limits)
            uploads.append(Upload(data, suffix))
        options = {"size": size, "style_weight": style_weight, "preserve_color": preserve_color, "seed": seed,
                   "iterations": iterations, "initial_iterations": initial_iterations}
        options = {k: v for k, v in options.items() if v is not None}
        job = await run_in_threadpool(manager.submit, method, options, uploads[0], uploads[1:])
        return manager.status(job)

    # Status and listing are answered on the event loop itself: an indexed SQLite read takes
    # microseconds, while a hop to the thread pool and back costs GIL hand-overs with the workers.
    @app.get("/api/jobs", dependencies=auth)
    async def list_jobs(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=2**62), status: str | None = Query(None, max_length=32)) -> JSONResponse:
        """Past and current jobs, newest first: ``{"jobs": [...], "total": n}``."""
        jobs = store.list(limit=limit, offset=offset, status=status)
        return JSONResponse({"jobs": [manager.status(j) for j in jobs], "total": store.count()})

    @app.get("/api/jobs/{job_id}", dependencies=auth)
    async def job_status(job_id: str) -> JSONResponse:
        """One job: status, progress in [0, 1], ETA in seconds, error, result name."""
        return JSONResponse(manager.status(manager.get(job_id)))

    @app.post("/api/jobs/{job_id}/cancel", dependencies=auth)
    def cancel(job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (a running one stops at its next iteration)."""
        return manager.status(manager.cancel(job_id))

    @app.get("/api/jobs/{job_id}/result", dependencies=auth, response_class=FileResponse)
    def result(job_id: str) -> FileResponse:
        """The result image (PNG) of a finished job; 409 while it has none."""
        path = manager.result_path(manager.get(job_id))
        return FileResponse(path, media_type="image/png", filename=f"brushwork-{job_id[:8]}.png", content_disposition_type="inline")

    @app.get("/api/jobs/{job_id}/preview", dependencies=auth)
    def preview(job_id: str) -> Response:
        """The latest intermediate image (JPEG) of a running job; 404 when there is none."""
        manager.get(job_id)
        data = manager.preview(job_id)
        if data is None:
            raise ApiError("no preview for this job (not running, or none made yet)", 404)
        return Response(data, media_type="image/jpeg")

    @app.get("/api/jobs/{job_id}/events", dependencies=auth)
    async def events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events: ``progress`` (status JSON, with ``preview`` as a data URL when a
        new one is ready) whenever the job changes, then ``end`` when it is finished
        (or ``shutdown`` when the server stops first)."""
        await run_in_threadpool(manager.get, job_id)
        return StreamingResponse(_event_stream(manager, job_id, request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/gan/runs", dependencies=auth)
    def gan_runs() -> dict[str, Any]:
        """GAN runs in ``<data>/runs`` that have a checkpoint."""
        return {"runs": runs.list()}

    @app.get("/api/gan/runs/{name}/sample", dependencies=auth)
    def gan_sample(name: str, n: int = 16, seed: int = Query(0, ge=0, le=SEED_MAX),
                   truncation: float | None = Query(None, allow_inf_nan=False),
                   class_id: int | None = Query(None, ge=0, le=2**31)) -> Response:
        """A PNG grid of ``n`` samples for ``seed`` (truncation trick, class of a conditional run)."""
        return Response(sample_grid(runs.get(name), n, seed, truncation, class_id), media_type="image/png")

    @app.get("/api/gan/runs/{name}/interpolate", dependencies=auth)
    def gan_interpolate(name: str, seed_a: int = Query(0, ge=0, le=SEED_MAX), seed_b: int = Query(1, ge=0, le=SEED_MAX),
                        steps: int = 8, truncation: float | None = Query(None, allow_inf_nan=False),
                        class_id: int | None = Query(None, ge=0, le=2**31)) -> Response:
        """A PNG strip from seed ``seed_a``'s sample to seed ``seed_b``'s (spherical path)."""
        strip = interpolate_seeds(runs.get(name), seed_a, seed_b, steps, truncation, class_id, max_steps=settings.max_frames)
        return Response(strip, media_type="image/png")

    return app


def run_server(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Serve ``app`` with uvicorn until Ctrl-C / SIGTERM.

    On the signal the job manager refuses new jobs and open event streams end at once
    (instead of holding the shutdown up); then running jobs are marked interrupted.
    """
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            app.state.manager.begin_shutdown()
            super().handle_exit(sig, frame)

    logging.getLogger("uvicorn.access").addFilter(RedactTokens())  # a client's stray ?token= never reaches the log
    Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)).run()


async def _event_stream(manager: JobManager, job_id: str, request: Request, poll: float = 0.2, ping: float = 15.0):
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
