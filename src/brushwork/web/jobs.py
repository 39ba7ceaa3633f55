"""The job queue: a bounded queue, worker threads, live progress and previews, cancel.

Work runs in worker threads (PyTorch releases the GIL while it computes), so the web
server's event loop only ever reads the small in-memory state kept here. Every state
change that matters after a restart goes to the :class:`~brushwork.web.store.JobStore`
first; inputs and results are files in ``<data>/jobs/<id>/``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BrushworkError
from ..imageio import save_image, to_pil
from .guard import public_message
from .method_base import JobInputs, Method, Preview
from .methods import get_method
from .store import FINISHED, JobRecord, JobStore
from .uploads import ApiError

log = logging.getLogger("brushwork.web")

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
"""What a server-made job id looks like (anything else is refused before any lookup)."""

RESULT_NAME = "result.png"


def _lower_priority(nice: int) -> None:
    """Lower this thread's CPU priority by ``nice`` (Linux: threads have their own nice value)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))


class JobCancelled(Exception):
    """Raised inside a running job's progress callback to stop it."""


@dataclass
class Live:
    """In-memory state of a queued or running job (what status calls and events read)."""

    step: int = 0
    steps: int = 0
    started: float | None = None
    preview: bytes | None = None
    previews: int = 0
    version: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    shutdown: bool = False


@dataclass
class Upload:
    """An image already checked by :func:`~brushwork.web.uploads.check_image`: bytes and suffix."""

    data: bytes
    suffix: str


class JobManager:
    """Runs stylisation jobs from a bounded queue on ``workers`` threads.

    ``queue_size``: jobs waiting (not yet running) beyond which :meth:`submit` answers 429;
    ``preview_interval``: seconds between previews of a running job;
    ``methods``: the method registry (default :data:`~brushwork.web.methods.METHODS`);
    ``worker_nice``: how much lower the workers' CPU priority is than the server's (Linux),
    so that status calls are answered first on a busy machine.
    """

    def __init__(self, store: JobStore, data_dir: Path, *, workers: int = 1, queue_size: int = 8,
                 max_pixels: int | None = None, preview_interval: float = 1.0,
                 methods: dict[str, Method] | None = None, worker_nice: int = 10) -> None:
        if workers < 1 or queue_size < 1:
            raise BrushworkError("workers and queue size must be at least 1")
        self.store, self.jobs_dir = store, Path(data_dir) / "jobs"
        self.workers, self.queue_size, self.max_pixels = workers, queue_size, max_pixels
        self.preview_interval, self.methods, self.worker_nice = preview_interval, methods, worker_nice
        self._queue: deque[str] = deque()
        self._reserved = 0
        self._cond = threading.Condition()
        self._live: dict[str, Live] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.closing = threading.Event()
        self.public_roots: tuple[str, ...] = ()  # server paths that job errors shown to clients must not contain

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> dict[str, int]:
        """Recover after a restart (queued jobs run again, running ones are marked
        interrupted) and start the workers. Returns ``{"requeued", "interrupted"}`` counts."""
        queued, interrupted = self.store.recover()
        with self._cond:
            for job in queued:
                self._live[job.id] = Live()
                self._queue.append(job.id)
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"brushwork-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return {"requeued": len(queued), "interrupted": len(interrupted)}

    def begin_shutdown(self) -> None:
        """The server is going down: refuse new jobs (503) and let event streams end."""
        self.closing.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the running jobs (they are marked interrupted) and the workers.

        Queued jobs stay queued in the store and run after the next start.
        """
        with self._cond:
            self._stopping = True
            for live in self._live.values():
                live.shutdown = True
                live.cancel.set()
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout)

    # --- requests -----------------------------------------------------------------------

    def submit(self, method: str, options: dict[str, Any], content: Upload, styles: list[Upload]) -> JobRecord:
        """Save the inputs, record the job and queue it.

        Raises ApiError 400 for an unknown method, bad options or too many styles, 429 when
        the queue is full, 503 while shutting down.
        """
        m = get_method(method, self.methods)
        if not m.min_styles <= len(styles) <= m.max_styles:
            wanted = "no style image" if not m.max_styles else f"{m.min_styles} to {m.max_styles} style images"
            raise ApiError(f"{m.name} takes {wanted}, not {len(styles)}")
        options = m.check(dict(options))
        with self._cond:
            if self._stopping or self.closing.is_set():
                raise ApiError("the server is shutting down", 503)
            if len(self._queue) + self._reserved >= self.queue_size:
                raise ApiError(f"the queue is full ({self.queue_size} jobs waiting); try again later", 429)
            self._reserved += 1
        job_id = uuid.uuid4().hex
        folder = self.jobs_dir / job_id
        try:
            folder.mkdir(parents=True)
            names = [f"content{content.suffix}"] + [f"style{i}{s.suffix}" for i, s in enumerate(styles)]
            for name, up in zip(names, [content, *styles]):
                (folder / name).write_bytes(up.data)
            job = JobRecord(job_id, m.name, "queued", options, {"content": names[0], "styles": names[1:]})
            self.store.insert(job)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            with self._cond:
                self._reserved -= 1
            raise
        with self._cond:
            self._reserved -= 1
            self._live[job_id] = Live()
            self._queue.append(job_id)
            self._cond.notify()
        return job

    def get(self, job_id: str) -> JobRecord:
        """The stored record; ApiError 404 for an unknown or malformed id."""
        job = self.store.get(job_id) if JOB_ID.match(job_id or "") else None
        if job is None:
            raise ApiError(f"no job {job_id!r}", 404)
        return job

    def status(self, job: JobRecord) -> dict[str, Any]:
        """The record with live progress, ETA (s) and queue position merged in."""
        out = job.to_json()
        live = self._live.get(job.id)
        out.update(step=None, steps=None, eta=None, queue_position=None, previews=0)
        if live is not None and job.status not in FINISHED:
            out.update(step=live.step, steps=live.steps, previews=live.previews, version=live.version)
            if live.steps:
                out["progress"] = live.step / live.steps
            if live.started and live.step:
                out["eta"] = (time.time() - live.started) * (live.steps - live.step) / live.step
            with self._cond:
                if job.id in self._queue:
                    out["queue_position"] = list(self._queue).index(job.id)
        return out

    def version(self, job_id: str) -> int:
        """A number that changes whenever the job's live state does (-1: not live)."""
        live = self._live.get(job_id)
        return -1 if live is None else live.version

    def preview(self, job_id: str) -> bytes | None:
        """The latest preview (JPEG bytes) of a job still in memory, or None."""
        live = self._live.get(job_id)
        return None if live is None else live.preview

    def cancel(self, job_id: str) -> JobRecord:
        """Cancel a queued or running job (a finished one is left as it is)."""
        self.get(job_id)  # raises for an unknown id
        with self._cond:
            live = self._live.get(job_id)
            if job_id in self._queue:
                self._queue.remove(job_id)
                self.store.update(job_id, status="cancelled", finished=time.time())
                self._live.pop(job_id, None)
            elif live is not None:
                live.cancel.set()
        return self.get(job_id)

    def result_path(self, job: JobRecord) -> Path:
        """File of a finished job's result; ApiError 409 if it has none."""
        if job.status != "done" or not job.result:
            raise ApiError(f"job {job.id} has no result (it is {job.status})", 409)
        return self.jobs_dir / job.id / job.result

    def pending(self) -> int:
        """Jobs waiting in the queue."""
        with self._cond:
            return len(self._queue)

    # --- workers ------------------------------------------------------------------------

    def _next(self) -> str | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            return None if self._stopping else self._queue.popleft()

    def _work(self) -> None:
        _lower_priority(self.worker_nice)
        while (job_id := self._next()) is not None:
            try:
                self._run(job_id)
            except Exception:  # noqa: BLE001 - a worker must survive any one job
                log.exception("job %s: unexpected error", job_id)
            finally:
                live = self._live.pop(job_id, None)
                if live is not None:
                    live.version += 1

    def _run(self, job_id: str) -> None:
        job, live = self.store.get(job_id), self._live.get(job_id)
        if job is None or live is None or job.status != "queued":
            return
        folder = self.jobs_dir / job_id
        live.started = time.time()
        self.store.update(job_id, status="running", started=live.started)
        live.version += 1
        inputs = JobInputs(folder / job.inputs["content"], [folder / s for s in job.inputs["styles"]], job.options, self.max_pixels)
        try:
            image = get_method(job.method, self.methods).run(inputs, self._progress(job_id, live))
            save_image(image, folder / RESULT_NAME)
        except JobCancelled:
            status = "interrupted" if live.shutdown else "cancelled"
            self.store.update(job_id, status=status, finished=time.time(), error="stopped by the server's shutdown" if live.shutdown else None)
            return
        except BrushworkError as exc:
            log.info("job %s failed: %s", job_id, exc)  # the log keeps the full message, the client gets no server paths
            self.store.update(job_id, status="failed", finished=time.time(), error=public_message(str(exc), *self.public_roots))
            return
        except Exception as exc:  # noqa: BLE001 - recorded, not lost
            log.exception("job %s failed", job_id)
            message = f"internal error: {type(exc).__name__}: {exc}"
            self.store.update(job_id, status="failed", finished=time.time(), error=public_message(message, *self.public_roots))
            return
        self.store.update(job_id, status="done", finished=time.time(), progress=1.0, result=RESULT_NAME)

    def _progress(self, job_id: str, live: Live):
        last = {"preview": 0.0, "store": time.time()}

        def progress(step: int, steps: int, preview: Preview | None) -> None:
            if live.cancel.is_set():
                raise JobCancelled(job_id)
            live.step, live.steps = step, steps
            now = time.time()
            if preview is not None and (now - last["preview"] >= self.preview_interval or step == steps):
                buf = io.BytesIO()
                to_pil(preview()).save(buf, format="JPEG", quality=85)
                live.preview, live.previews, last["preview"] = buf.getvalue(), live.previews + 1, now
            if now - last["store"] >= 2.0:
                self.store.update(job_id, progress=step / max(steps, 1))
                last["store"] = now
            live.version += 1

        return progress
