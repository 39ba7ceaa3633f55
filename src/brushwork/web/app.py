"""The FastAPI app: HTTP API for stylisation jobs and GAN runs, and the studio page.

Build it with :func:`create_app`; ``brushwork serve`` runs it with uvicorn. Every
error is JSON ``{"error": "..."}`` with a 4xx status. Handlers that touch SQLite, the
disk or a model are plain functions (FastAPI runs them in its thread pool) so the event
loop never waits on them.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from . import routes_gan, routes_jobs, routes_site
from .gan import GanRuns
from .guard import RedactTokens, RequestGuard, allowed_hosts
from .http import BodyLimit, install_error_handlers
from .jobs import JobManager
from .methods import METHODS, Method, feedforward_methods, translation_methods
from .store import JobStore


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

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.recovered = manager.start()
        yield
        await run_in_threadpool(manager.stop)
        store.close()

    # No /docs or /redoc: FastAPI's viewers load their scripts from a CDN; /openapi.json stays.
    app = FastAPI(title="Brushwork studio", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Neural style transfer jobs and GAN sampling over HTTP.")
    app.state.manager, app.state.settings, app.state.store = manager, settings, store
    app.state.methods, app.state.runs = table, GanRuns(data_dir)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes * 5 + 1_000_000)
    app.add_middleware(RequestGuard, hosts=allowed_hosts(settings.host, tuple(settings.allowed_hosts)))
    roots = (str(settings.data_dir), str(data_dir.resolve()))
    install_error_handlers(app, roots)
    manager.public_roots = roots
    for router in (routes_site.router, routes_site.api, routes_jobs.router, routes_gan.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=routes_site.STATIC), name="static")
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
