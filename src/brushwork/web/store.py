"""Job records in SQLite under the data directory: what survives a restart.

One row a job. Inputs and results live on disk in ``<data>/jobs/<id>/`` under names
the server makes; the row keeps only those names. Writes are serialised with a lock
(one connection shared by the worker threads and the request threads).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ACTIVE = ("queued", "running")
"""States of a job that is not finished."""

FINISHED = ("done", "failed", "cancelled", "interrupted")
"""Terminal states."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    inputs TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
"""


@dataclass
class JobRecord:
    """One stylisation job as stored.

    ``options``: the method's options; ``inputs``: ``{"content": file, "styles": [files]}``
    inside the job's folder; times are Unix seconds; ``progress`` in ``[0, 1]``;
    ``result``: file name of the result inside the job folder once done.
    """

    id: str
    method: str
    status: str
    options: dict[str, Any]
    inputs: dict[str, Any]
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: float = 0.0
    error: str | None = None
    result: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (a copy)."""
        return asdict(self)


_COLUMNS = tuple(JobRecord.__dataclass_fields__)


class JobStore:
    """Job rows in ``<data>/jobs.sqlite3`` (WAL journal, safe against a crash mid-write)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def insert(self, job: JobRecord) -> None:
        """Add a new job row."""
        row = job.to_json()
        row["options"], row["inputs"] = json.dumps(row["options"]), json.dumps(row["inputs"])
        names = ", ".join(_COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._lock:
            self._db.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", [row[c] for c in _COLUMNS])

    def update(self, job_id: str, **values: Any) -> None:
        """Set columns of one job (``status``, ``progress``, ``error`` ...)."""
        bad = set(values) - set(_COLUMNS) - {"id"}
        if bad or "id" in values:
            raise ValueError(f"cannot update {sorted(bad) or ['id']}")
        for key in ("options", "inputs"):
            if key in values:
                values[key] = json.dumps(values[key])
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", [*values.values(), job_id])

    def get(self, job_id: str) -> JobRecord | None:
        """The job with this id, or None."""
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _record(row)

    def list(self, *, limit: int = 50, offset: int = 0, status: str | None = None) -> list[JobRecord]:
        """Jobs, newest first."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        sql = f"SELECT {', '.join(_COLUMNS)} FROM jobs {where} ORDER BY created DESC, id LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, limit, offset]).fetchall()
        return [_record(r) for r in rows]

    def count(self) -> int:
        """Number of job rows."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def recover(self) -> tuple[list[JobRecord], list[str]]:
        """After a restart: mark jobs that were running as interrupted; return the queued ones.

        Returns ``(queued jobs oldest first, ids marked interrupted)``. Queued jobs had not
        started, so they are run again; a running job may have been what stopped the server.
        """
        now = time.time()
        with self._lock:
            running = [r[0] for r in self._db.execute("SELECT id FROM jobs WHERE status = 'running'")]
            self._db.execute(
                "UPDATE jobs SET status = 'interrupted', finished = ?, error = ? WHERE status = 'running'",
                (now, "the server stopped while this job was running"),
            )
            rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE status = 'queued' ORDER BY created, id").fetchall()
        return [_record(r) for r in rows], running


def _record(row: tuple) -> JobRecord:
    values = dict(zip(_COLUMNS, row))
    values["options"], values["inputs"] = json.loads(values["options"]), json.loads(values["inputs"])
    return JobRecord(**values)
