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

import click

from ..commands.common import emit_json, json_option
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


def run_load_check(*, clients: int = 8, jobs_per_client: int = 2, workers: int = 1, queue_size: int = 4, size: int = 64,
                   iterations: int = 30, restart: bool = True, threads: int = 1, worker_nice: int = 10, timeout: float = 600,
                   data_dir: Path | None = None) -> dict:
    """Run the protocol above and return the report (see ``brushwork bench serve --help``)."""
    t0 = time.time()
    tmp = None if data_dir is not None else tempfile.TemporaryDirectory(prefix="brushwork-bench-serve-")
    data_dir = Path(data_dir or tmp.name)
    port = _free_port()
    server = Server(data_dir, port, workers, queue_size, threads, worker_nice)
    form = {"method": "gatys", "size": str(size), "initial_iterations": str(iterations), "iterations": str(max(1, iterations // 4))}
    check = LoadCheck(port, jobs_per_client, form, _images(size))
    rounds = 2 if restart else 1
    barrier = threading.Barrier(clients + 1)
    threads_ = [threading.Thread(target=check.client, args=(barrier, rounds), daemon=True) for _ in range(clients)]
    prober = threading.Thread(target=check.prober, daemon=True)
    killed_while = {}
    try:
        server.start()
        for t in threads_ + [prober]:
            t.start()
        barrier.wait()  # round 1
        if restart:
            def crash_point() -> bool:
                with check.lock:
                    states = list(check.seen.values())
                    if check.rounds_submitted < clients:
                        return False
                if len(states) == len(check.accepted) and all(x in FINISHED for x in states):
                    return True  # nothing left to interrupt
                return "done" in states and "running" in states
            _wait_for(crash_point, timeout)
            with check.lock:
                killed_while = {"running": list(check.seen.values()).count("running"), "queued": list(check.seen.values()).count("queued")}
            server.kill()
            server.start()
            barrier.wait()  # round 2
        def all_finished() -> bool:
            with check.lock:
                submitted = check.rounds_submitted == clients * rounds
                return submitted and all(check.seen.get(i) in FINISHED for i in check.accepted)
        _wait_for(all_finished, timeout)
        check.stop.set()
        for t in threads_ + [prober]:
            t.join(10)
        report = _account(Client(port), check)
        report.update(_idle_baseline(Client(port), check.accepted))
    finally:
        check.stop.set()
        server.stop()
        if tmp is not None:
            tmp.cleanup()
    p95 = report["status_ms"]["p95"], report["list_ms"]["p95"]
    idle = report["idle_status_ms"]["p95"], report["idle_list_ms"]["p95"]
    report.update(
        clients=clients, jobs_per_client=jobs_per_client, workers=workers, queue_size=queue_size, size=size,
        iterations=iterations, torch_threads=threads, worker_nice=worker_nice, restart=restart, killed_with=killed_while,
        p95_ratio_status_busy_vs_idle=round(p95[0] / idle[0], 2) if p95[0] and idle[0] else None,
        p95_ratio_list_busy_vs_idle=round(p95[1] / idle[1], 2) if p95[1] and idle[1] else None,
        target_p95_ms=50.0, target_met=bool(p95[0] and p95[1] and max(p95) < 50 and report["lost"] == 0),
        seconds=round(time.time() - t0, 1), cpus=os.cpu_count(), load_avg_1min=round(os.getloadavg()[0], 2),
    )
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


@click.command(help=__doc__.split("\n\n", 1)[1].replace("\n", " "))
@click.option("--clients", type=click.IntRange(1, 256), default=8, show_default=True, help="Concurrent clients.")
@click.option("--jobs-per-client", type=click.IntRange(1, 100), default=2, show_default=True, help="Jobs each client submits per round.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--queue-size", type=click.IntRange(1, 10_000), default=4, show_default=True)
@click.option("--size", type=click.IntRange(16, 2048), default=64, show_default=True, help="Output long side of each job (px).")
@click.option("--iterations", type=click.IntRange(1, 5000), default=30, show_default=True, help="Iterations at the first scale of each job.")
@click.option("--threads", type=click.IntRange(1, 256), default=1, show_default=True, help="Torch threads of the server.")
@click.option("--worker-nice", type=click.IntRange(0, 19), default=10, show_default=True, help="The server's --worker-nice.")
@click.option("--restart/--no-restart", default=True, show_default=True, help="Kill the server in the middle and start it again.")
@click.option("--timeout", type=click.FloatRange(10), default=600, show_default=True, help="Seconds to wait for the jobs.")
@json_option
def command(clients, jobs_per_client, workers, queue_size, size, iterations, threads, worker_nice, restart, timeout, as_json) -> None:
    r = run_load_check(clients=clients, jobs_per_client=jobs_per_client, workers=workers, queue_size=queue_size, size=size,
                       iterations=iterations, restart=restart, threads=threads, worker_nice=worker_nice, timeout=timeout)
    if as_json:
        emit_json(r)
        return
    click.echo(f"serve load check: {clients} clients x {jobs_per_client} jobs x {2 if restart else 1} rounds, {workers} worker(s), "
               f"queue {queue_size}, {size} px jobs; load average {r['load_avg_1min']} on {r['cpus']} CPUs")
    click.echo(f"  jobs: {r['submitted']} submitted, {r['accepted']} accepted, {r['rejected_429']} rejected (429), "
               f"{r['completed']} completed, {r['interrupted']} interrupted by the restart, {r['failed']} failed, {r['lost']} lost")
    for name in ("status", "list"):
        busy, idle = r[f"{name}_ms"], r[f"idle_{name}_ms"]
        click.echo(f"  {name:<6} while busy: p50 {busy['p50']} ms, p95 {busy['p95']} ms (n={busy['n']}); "
                   f"idle: p95 {idle['p95']} ms; ratio {r[f'p95_ratio_{name}_busy_vs_idle']}")
    click.echo(f"  target (p95 < 50 ms, 0 lost): {'met' if r['target_met'] else 'MISSED'}")
