"""`brushwork bench serve`: load check of the web service, with a crash and restart in the middle.

Protocol: start ``brushwork serve`` in a subprocess on a temporary data directory. N client
threads each submit J small stylisation jobs at once (a full queue answers 429: counted,
not retried) and poll their jobs' status; a prober lists the jobs. Once a job has finished
and another is running, the server is killed (SIGKILL, as in a crash) and started again,
and the clients submit a second round. At the end every accepted job must be listed in a
finished state (``done``, or ``interrupted`` for those the crash stopped) and every ``done``
job's result must download: anything else counts as lost. Latency of status and listing
calls is reported while at least one job is running, next to the same calls on the idle
server measured in the same run (the baseline).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from ..errors import BrushworkError

FINISHED = ("done", "failed", "cancelled", "interrupted")


class Client:
    """One keep-alive HTTP connection; reconnects after errors (the server may restart)."""

    def __init__(self, port: int) -> None:
        self.port, self.conn = port, None

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes, float]:
        """``(status, body, seconds)``; raises OSError when the server cannot be reached."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        t = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise OSError(f"{method} {path}: no answer")
        return response.status, data, time.perf_counter() - t

    def close(self) -> None:
        """Drop the connection (the next call opens a new one)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def json(self, path: str) -> tuple[int, dict, float]:
        status, data, seconds = self.call("GET", path)
        return status, json.loads(data or b"{}"), seconds


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, dict]:
    """Encode form ``fields`` and ``files`` (name, filename, bytes) as multipart/form-data."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _images(size: int) -> tuple[bytes, bytes]:
    from ..data.bundled import bundled_photo
    from ..imageio import resize_long_side, to_pil
    from ..style.procedural import brush_strokes

    def png(pil) -> bytes:
        buf = io.BytesIO()
        pil.save(buf, format="PNG")
        return buf.getvalue()

    return png(to_pil(resize_long_side(bundled_photo("chelsea"), size))), png(brush_strokes(size, "night", seed=1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``brushwork serve`` as a subprocess that can be killed and started again."""

    def __init__(self, data_dir: Path, port: int, workers: int, queue_size: int, threads: int, worker_nice: int = 10) -> None:
        self.argv = [sys.executable, "-m", "brushwork", "serve", "--port", str(port), "--data-dir", str(data_dir),
                     "--workers", str(workers), "--queue-size", str(queue_size), "--threads", str(threads), "--worker-nice", str(worker_nice), "--quiet"]
        self.port, self.log, self.proc = port, data_dir / "server.log", None

    def start(self, timeout: float = 60) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log)
        client, end = Client(self.port), time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise BrushworkError(f"the server exited with code {self.proc.returncode}; see {self.log}")
            try:
                if client.call("GET", "/api/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise BrushworkError(f"the server did not answer within {timeout:.0f} s; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def _ms(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    s = sorted(samples)
    pick = lambda q: round(1000 * s[min(len(s) - 1, int(q * len(s)))], 2)  # noqa: E731
    return {"n": len(s), "p50": pick(0.5), "p95": pick(0.95), "max": round(1000 * s[-1], 2)}


class LoadCheck:
    """State shared by the client threads of one run."""

    def __init__(self, port: int, jobs_per_client: int, form: dict[str, str], images: tuple[bytes, bytes]) -> None:
        self.port, self.jobs_per_client, self.form, self.images = port, jobs_per_client, form, images
        self.lock = threading.Lock()
        self.accepted: list[str] = []
        self.rejected = self.rounds_submitted = 0
        self.errors: list[str] = []
        self.busy = False
        self.status_s: list[float] = []
        self.list_s: list[float] = []
        self.seen: dict[str, str] = {}
        self.stop = threading.Event()

    def submit_round(self, client: Client) -> list[str]:
        ids = []
        for _ in range(self.jobs_per_client):
            body, headers = multipart(self.form, [("content", "photo.png", self.images[0]), ("style", "painting.png", self.images[1])])
            try:
                status, data, _ = client.call("POST", "/api/jobs", body, headers)
            except OSError as exc:
                status, data = 0, str(exc).encode()
            with self.lock:
                if status == 202:
                    ids.append(json.loads(data)["id"])
                    self.accepted.append(ids[-1])
                elif status == 429:
                    self.rejected += 1
                else:
                    self.errors.append(f"{status}: {data[:200].decode(errors='replace')}")
        return ids

    def client(self, rounds: threading.Barrier, n_rounds: int) -> None:
        """Submit a round, poll own jobs until the next round starts (or the end)."""
        client, mine = Client(self.port), []
        for _ in range(n_rounds):
            rounds.wait()
            client.close()  # a fresh connection: the server may have been restarted
            mine += self.submit_round(client)
            with self.lock:
                self.rounds_submitted += 1
            self.poll(client, mine, until=rounds)

    def poll(self, client: Client, ids: list[str], until: threading.Barrier) -> None:
        while not self.stop.is_set() and until.n_waiting == 0:
            for job_id in ids:
                try:
                    status, job, seconds = client.json(f"/api/jobs/{job_id}")
                except OSError:
                    time.sleep(0.05)
                    continue
                with self.lock:
                    if status == 200:
                        self.seen[job_id] = job["status"]
                    if self.busy or job.get("status") == "running":
                        self.status_s.append(seconds)
                time.sleep(0.02)
            if not ids:
                time.sleep(0.05)

    def prober(self) -> None:
        client = Client(self.port)
        while not self.stop.is_set():
            try:
                status, data, seconds = client.json("/api/jobs?limit=100")
            except OSError:
                time.sleep(0.05)
                continue
            running = status == 200 and any(j["status"] == "running" for j in data["jobs"])
            with self.lock:
                self.busy = running
                if running:
                    self.list_s.append(seconds)
            time.sleep(0.05)


def _wait_for(predicate, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _crash_point(check: LoadCheck, clients: int):
    """True once a job is done and another running (or nothing is left to interrupt)."""

    def ready() -> bool:
        with check.lock:
            states = list(check.seen.values())
            if check.rounds_submitted < clients:
                return False
        if len(states) == len(check.accepted) and all(x in FINISHED for x in states):
            return True
        return "done" in states and "running" in states

    return ready


def _all_finished(check: LoadCheck, clients: int, rounds: int):
    def finished() -> bool:
        with check.lock:
            submitted = check.rounds_submitted == clients * rounds
            return submitted and all(check.seen.get(i) in FINISHED for i in check.accepted)

    return finished


def _crash_and_restart(server: Server, check: LoadCheck, clients: int, timeout: float) -> dict:
    """Kill the server at the crash point and start it again; the job states it was killed with."""
    _wait_for(_crash_point(check, clients), timeout)
    with check.lock:
        states = list(check.seen.values())
    server.kill()
    server.start()
    return {"running": states.count("running"), "queued": states.count("queued")}


def _drive(server: Server, check: LoadCheck, clients: int, rounds: int, timeout: float) -> tuple[dict, dict]:
    """Start the server and the client threads, run the rounds (a crash between them), account
    for every job; ``(report, states the crash hit)``. The server is stopped in the end."""
    barrier = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=check.client, args=(barrier, rounds), daemon=True) for _ in range(clients)]
    threads.append(threading.Thread(target=check.prober, daemon=True))
    killed_with: dict = {}
    try:
        server.start()
        for t in threads:
            t.start()
        barrier.wait()  # round 1
        if rounds > 1:
            killed_with = _crash_and_restart(server, check, clients, timeout)
            barrier.wait()  # round 2
        _wait_for(_all_finished(check, clients, rounds), timeout)
        check.stop.set()
        for t in threads:
            t.join(10)
        report = _account(Client(server.port), check)
        report.update(_idle_baseline(Client(server.port), check.accepted))
    finally:
        check.stop.set()
        server.stop()
    return report, killed_with


def _verdict(report: dict) -> dict:
    """Busy-vs-idle p95 ratios and whether the target (p95 < 50 ms, nothing lost) was met."""
    p95 = report["status_ms"]["p95"], report["list_ms"]["p95"]
    idle = report["idle_status_ms"]["p95"], report["idle_list_ms"]["p95"]
    return {"p95_ratio_status_busy_vs_idle": round(p95[0] / idle[0], 2) if p95[0] and idle[0] else None,
            "p95_ratio_list_busy_vs_idle": round(p95[1] / idle[1], 2) if p95[1] and idle[1] else None,
            "target_p95_ms": 50.0, "target_met": bool(p95[0] and p95[1] and max(p95) < 50 and report["lost"] == 0)}


def run_serve(*, clients: int = 8, jobs_per_client: int = 2, workers: int = 1, queue_size: int = 4, size: int = 64,
              iterations: int = 30, restart: bool = True, threads: int = 1, worker_nice: int = 10, timeout: float = 600,
              data_dir: Path | None = None) -> dict:
    """Run the protocol above and return the report (see ``brushwork bench serve --help``)."""
    t0 = time.time()
    folder = contextlib.nullcontext(str(data_dir)) if data_dir is not None else tempfile.TemporaryDirectory(prefix="brushwork-bench-serve-")
    with folder as path:
        port = _free_port()
        server = Server(Path(path), port, workers, queue_size, threads, worker_nice)
        form = {"method": "gatys", "size": str(size), "initial_iterations": str(iterations), "iterations": str(max(1, iterations // 4))}
        check = LoadCheck(port, jobs_per_client, form, _images(size))
        report, killed_with = _drive(server, check, clients, 2 if restart else 1, timeout)
    report.update(
        clients=clients, jobs_per_client=jobs_per_client, workers=workers, queue_size=queue_size, size=size,
        iterations=iterations, torch_threads=threads, worker_nice=worker_nice, restart=restart, killed_with=killed_with,
    )
    report.update(_verdict(report))
    report.update(seconds=round(time.time() - t0, 1), cpus=os.cpu_count(), load_avg_1min=round(os.getloadavg()[0], 2))
    return report


def _account(client: Client, check: LoadCheck) -> dict:
    """Compare every accepted job with the server's own listing."""
    status, listing, _ = client.json("/api/jobs?limit=500")
    listed = {j["id"]: j["status"] for j in listing.get("jobs", [])}
    counts = {s: 0 for s in ("done", "interrupted", "failed", "cancelled")}
    missing = stuck = no_result = 0
    for job_id in check.accepted:
        state = listed.get(job_id)
        if state is None:
            missing += 1
        elif state not in FINISHED:
            stuck += 1
        else:
            counts[state] += 1
            if state == "done" and client.call("GET", f"/api/jobs/{job_id}/result")[0] != 200:
                no_result += 1
    return {"submitted": len(check.accepted) + check.rejected + len(check.errors), "accepted": len(check.accepted),
            "rejected_429": check.rejected, "other_errors": len(check.errors), "errors_first": check.errors[:3], "completed": counts["done"],
            "interrupted": counts["interrupted"], "failed": counts["failed"], "cancelled": counts["cancelled"],
            "lost": missing + stuck + no_result, "lost_detail": {"not_listed": missing, "not_finished": stuck, "result_missing": no_result},
            "status_ms": _ms(check.status_s), "list_ms": _ms(check.list_s)}


def _idle_baseline(client: Client, ids: list[str], calls: int = 100) -> dict:
    """The same status and listing calls on the idle server (the baseline)."""
    status_s, list_s = [], []
    for k in range(calls):
        if ids:
            status_s.append(client.call("GET", f"/api/jobs/{ids[k % len(ids)]}")[2])
        list_s.append(client.call("GET", "/api/jobs?limit=100")[2])
    return {"idle_status_ms": _ms(status_s), "idle_list_ms": _ms(list_s)}
