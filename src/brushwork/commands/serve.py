"""`brushwork serve`: the web studio and HTTP API (FastAPI + uvicorn)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import BrushworkError
from ..imageio import DEFAULT_MAX_PIXELS
from .options import make_threads_option

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_binding(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without an access token."""
    if host not in LOCAL_HOSTS and not token:
        raise BrushworkError(f"--host {host} makes the studio reachable from other machines; set an access token with --token or BRUSHWORK_TOKEN")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (anything but localhost needs --token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("brushwork-data"), show_default=True,
              help="Job database, inputs and results; GAN runs under DIR/runs.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Stylisation jobs run at once.")
@click.option("--queue-size", type=click.IntRange(1, 10_000), default=8, show_default=True, help="Jobs waiting before new ones get 429.")
@click.option("--max-upload-mb", type=click.FloatRange(0.01, 1000), default=20.0, show_default=True, help="Per uploaded image.")
@click.option("--max-pixels", type=click.IntRange(1), default=16_000_000, show_default=True, help=f"Per input image (the CLI's default is {DEFAULT_MAX_PIXELS}).")
@click.option("--max-size", type=click.IntRange(16, 8192), default=2048, show_default=True, help="Largest output long side a client may ask for.")
@click.option("--max-iterations", type=click.IntRange(1, 1_000_000), default=1000, show_default=True,
              help="Most optimisation iterations a job may ask for (each of iterations and initial_iterations).")
@click.option("--max-frames", type=click.IntRange(2, 1024), default=32, show_default=True, help="Most frames of a GAN interpolation strip.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Another Host name the studio answers to (a reverse proxy's, the machine's LAN name; '*': any). Repeatable.")
@click.option("--token", envvar="BRUSHWORK_TOKEN", help="Access token every API call must carry (Authorization: Bearer ...).")
@make_threads_option(help="CPU threads for torch (0 = all cores but one, for the web server).")
@click.option("--worker-nice", type=click.IntRange(0, 19), default=10, show_default=True,
              help="How much lower the workers' CPU priority is than the web server's (Linux), so status calls stay fast.")
@click.option("--quiet", "-q", is_flag=True, help="Log only warnings.")
def serve(host, port, data_dir, workers, queue_size, max_upload_mb, max_pixels, max_size, max_iterations, max_frames, allow_hosts,
          token, threads, worker_nice, quiet) -> None:
    """Run the web studio: open http://HOST:PORT/ in a browser; the API is described at /openapi.json."""
    check_binding(host, token)
    import torch

    from ..web import WebSettings, create_app
    from ..web.app import run_server

    torch.set_num_threads(threads or max(1, (os.cpu_count() or 2) - 1))
    sys.setswitchinterval(0.001)  # a worker holding the GIL hands it to the web server within 1 ms, not 5
    settings = WebSettings(data_dir=data_dir, workers=workers, queue_size=queue_size, max_upload_bytes=int(max_upload_mb * 1e6),
                           max_pixels=max_pixels, max_size=max_size, max_iterations=max_iterations, max_frames=max_frames,
                           token=token, host=host, allowed_hosts=tuple(allow_hosts), worker_nice=worker_nice)
    app = create_app(settings)
    if not quiet:
        click.echo(f"Brushwork studio on http://{host}:{port}/ (data in {data_dir.resolve()})", err=True)
    run_server(app, host, port, log_level="warning" if quiet else "info")
