"""`brushwork bench features|serve`: feature-extraction throughput and the web service under load."""

from __future__ import annotations

from typing import Any

import click

from ..bench.features import SPACES
from .bench import threads_option_with_default, use_threads
from .common import device_option, json_option, resolve_device
from .options import flag_errors
from .report import print_report


def features_table(report: dict[str, Any]) -> str:
    """Images per second per feature space, then the FID time against its 5 s target."""
    load = report["load_avg_1min"]
    lines = [f"device {report['device']}, {report['threads']} threads, batch {report['batch_size']}, {report['image_size']} px random images"
             + (f", load average {load:.1f} on {report['cpus']} CPUs" if load is not None else ""),
             f"{'features':<20} {'dim':>5} {'input':>6} {'img/s':>9}  weights"]
    for r in report["spaces"]:
        lines.append(f"{r['features']:<20} {r['dim']:>5} {r['input_px']:>6} {r['images_per_s']:>9.2f}  {r['weights']}")
    fid = report["fid"]
    verdict = "meets" if fid["seconds"] < fid["target_s"] else "misses"
    lines.append(f"FID {fid['n']} vs {fid['n']} x 2048-d: {fid['seconds']:.2f} s wall, {fid['cpu_seconds']:.2f} s CPU ({verdict} the 5 s target)")
    return "\n".join(lines)


@click.command("features")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--batches", type=click.IntRange(min=1), default=2, show_default=True, help="Timed batches per space.")
@click.option("--image-size", type=click.IntRange(min=8), default=128, show_default=True, help="Side of the random input images (px).")
@click.option("--fid-n", type=click.IntRange(min=2), default=10_000, show_default=True, help="Samples per set for the FID timing.")
@click.option("--spaces", default=",".join(SPACES), show_default=True, help="Comma-separated feature spaces to time.")
@threads_option_with_default(0)
@device_option
@json_option
def features(batch_size: int, batches: int, image_size: int, fid_n: int, spaces: str, threads: int, device: str,
             as_json: bool) -> None:
    """Images/second per feature space and the time of FID on 10k vs 10k 2048-d features (target < 5 s)."""
    from ..bench.features import run_features

    device = resolve_device(device)
    use_threads(threads)
    names = tuple(n.strip() for n in spaces.split(",") if n.strip())
    with flag_errors(extra={"spaces": "--spaces"}):
        report = run_features(batch_size, batches, image_size, fid_n, names, device)
    print_report(report, as_json, features_table)


def serve_table(r: dict[str, Any]) -> str:
    """Jobs accounted for, busy and idle latencies, and the verdict."""
    lines = [f"serve load check: {r['clients']} clients x {r['jobs_per_client']} jobs x {2 if r['restart'] else 1} rounds, {r['workers']} worker(s), "
             f"queue {r['queue_size']}, {r['size']} px jobs; load average {r['load_avg_1min']} on {r['cpus']} CPUs",
             f"  jobs: {r['submitted']} submitted, {r['accepted']} accepted, {r['rejected_429']} rejected (429), "
             f"{r['completed']} completed, {r['interrupted']} interrupted by the restart, {r['failed']} failed, {r['lost']} lost"]
    for name in ("status", "list"):
        busy, idle = r[f"{name}_ms"], r[f"idle_{name}_ms"]
        lines.append(f"  {name:<6} while busy: p50 {busy['p50']} ms, p95 {busy['p95']} ms (n={busy['n']}); "
                     f"idle: p95 {idle['p95']} ms; ratio {r[f'p95_ratio_{name}_busy_vs_idle']}")
    return "\n".join(lines + [f"  target (p95 < 50 ms, 0 lost): {'met' if r['target_met'] else 'MISSED'}"])


def _serve_help() -> str:
    from ..bench import serve

    return serve.__doc__.split("\n\n", 1)[1].replace("\n", " ")


@click.command(help=_serve_help())
@click.option("--clients", type=click.IntRange(1, 256), default=8, show_default=True, help="Concurrent clients.")
@click.option("--jobs-per-client", type=click.IntRange(1, 100), default=2, show_default=True, help="Jobs each client submits per round.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--queue-size", type=click.IntRange(1, 10_000), default=4, show_default=True)
@click.option("--size", type=click.IntRange(16, 2048), default=64, show_default=True, help="Output long side of each job (px).")
@click.option("--iterations", type=click.IntRange(1, 5000), default=30, show_default=True, help="Iterations at the first scale of each job.")
@threads_option_with_default(1, help="Torch threads of the server (0: all cores but one).")
@click.option("--worker-nice", type=click.IntRange(0, 19), default=10, show_default=True, help="The server's --worker-nice.")
@click.option("--restart/--no-restart", default=True, show_default=True, help="Kill the server in the middle and start it again.")
@click.option("--timeout", type=click.FloatRange(10), default=600, show_default=True, help="Seconds to wait for the jobs.")
@json_option
def serve(clients, jobs_per_client, workers, queue_size, size, iterations, threads, worker_nice, restart, timeout, as_json) -> None:
    from ..bench.serve import run_serve

    report = run_serve(clients=clients, jobs_per_client=jobs_per_client, workers=workers, queue_size=queue_size, size=size,
                       iterations=iterations, restart=restart, threads=threads, worker_nice=worker_nice, timeout=timeout)
    print_report(report, as_json, serve_table)
