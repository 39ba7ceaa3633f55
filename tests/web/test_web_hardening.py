"""The studio against hostile input: work limits, Host / Origin checks (DNS rebinding, other
sites' pages), out-of-range query values, the token's path (header or cookie, never the
URL or the log), decompression bombs, server paths in messages, broken model folders, and
the command line's image formats."""

from __future__ import annotations

import io
import logging
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.imageio import INPUT_FORMATS, load_image
from brushwork.web import WebSettings, create_app
from brushwork.web.guard import COOKIE, RedactTokens, allowed_hosts, public_message
from brushwork.web.methods import JobInputs, Method
from brushwork.web.uploads import FORMATS

STATIC = Path(__file__).resolve().parents[2] / "src" / "brushwork" / "web" / "static"


def _image(w: int = 16, h: int = 12, fmt: str = "PNG") -> bytes:
    arr = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def _png_claiming(w: int, h: int) -> bytes:
    """A small PNG whose header claims ``w`` x ``h`` pixels (a decompression bomb's shape)."""
    data = bytearray(_image(4, 4))
    ihdr = struct.pack(">II", w, h) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def _invert(inputs: JobInputs, progress) -> "object":
    return 1 - load_image(inputs.content).rgb


def _app(tmp_path: Path, methods: dict | None = None, **settings):
    settings.setdefault("allowed_hosts", ("testserver",))
    table = methods or {"invert": Method("invert", "invert", lambda o: dict(o), _invert, min_styles=0, max_styles=4,
                                         options=("size", "seed", "iterations", "initial_iterations"))}
    return create_app(WebSettings(data_dir=tmp_path / "data", preview_interval=0.0, **settings), methods=table)


def _submit(client, data=None, content=None, headers=None):
    files = [("content", ("c.png", content or _image(), "application/octet-stream"))]
    return client.post("/api/jobs", files=files, data={"method": "invert", **(data or {})}, headers=headers or {})


def _wait(client, job_id, timeout=30.0):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled", "interrupted"):
            return job
        time.sleep(0.02)
    raise AssertionError("job did not finish")


# --------------------------------------------------------------------------- work limits


def test_iterations_beyond_the_server_limit_are_400_and_nothing_is_queued(tmp_path):
    with TestClient(_app(tmp_path, max_iterations=50)) as client:
        for field in ("iterations", "initial_iterations"):
            r = _submit(client, {field: "1000000000"})
            assert r.status_code == 400 and field in r.json()["error"] and "50" in r.json()["error"]
        assert client.get("/api/jobs").json()["total"] == 0
        assert _submit(client, {"iterations": "50"}).status_code == 202
        assert _submit(client, {"size": "5000"}).status_code == 400


def test_serve_passes_its_limits_and_hosts_to_the_app(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr("brushwork.web.app.run_server", lambda app, host, port, log_level: seen.update(s=app.state.settings))
    args = ["serve", "--data-dir", str(tmp_path / "d"), "--max-iterations", "77", "--max-size", "300", "--max-frames", "5", "--allow-host", "studio.lan", "-q"]
    assert main(args) == 0
    s = seen["s"]
    assert (s.max_iterations, s.max_size, s.max_frames, s.host, s.allowed_hosts) == (77, 300, 5, "127.0.0.1", ("studio.lan",))


# --------------------------------------------------------------------------- Host and Origin


@pytest.mark.parametrize("host, ok", [("evil.example", False), ("evil.example:8000", False), ("127.0.0.1:8000", True),
                                      ("localhost:8000", True), ("[::1]:8000", True), ("LOCALHOST", True), ("127.0.0.1.evil.example", False)])
def test_only_the_servers_own_host_names_are_answered(tmp_path, host, ok):
    with TestClient(_app(tmp_path, allowed_hosts=())) as client:
        for path in ("/", "/api/jobs"):
            r = client.get(path, headers={"Host": host})
            assert (r.status_code == 200) == ok, (path, r.status_code)
            if not ok:
                assert r.status_code == 400 and "Host" in r.json()["error"]


def test_host_allow_list_follows_the_binding():
    assert allowed_hosts("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert "192.168.1.5" in allowed_hosts("192.168.1.5")
    assert allowed_hosts("0.0.0.0") is None  # every interface: names unknown; the token is the guard
    assert allowed_hosts("0.0.0.0", ("studio.lan",)) == {"127.0.0.1", "localhost", "::1", "studio.lan"}
    assert allowed_hosts("127.0.0.1", ("*",)) is None


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Origin": "http://testserver:8080"}, 403),  # another port is another origin
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "http://testserver"}, 202),
    ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, 202),
    ({}, 202),  # curl, scripts: no browser, no ambient credentials to abuse
])
def test_state_changes_from_other_origins_are_refused(tmp_path, headers, status):
    with TestClient(_app(tmp_path)) as client:
        r = _submit(client, headers=headers)
        assert r.status_code == status, r.text
        if status == 403:
            assert "origin" in r.json()["error"] or "cross-site" in r.json()["error"]
            assert client.get("/api/jobs").json()["total"] == 0
        job = client.get("/api/jobs").json()["jobs"]
        if job:
            r = client.post(f"/api/jobs/{job[0]['id']}/cancel", headers={"Origin": "http://evil.example"})
            assert r.status_code == 403


def test_reads_carry_no_cors_grant(tmp_path):
    with TestClient(_app(tmp_path)) as client:
        r = client.get("/api/jobs", headers={"Origin": "http://evil.example"})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


# --------------------------------------------------------------------------- query values


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gan")
    args = ["gan", "train", "--preset", "mlp-digits", "--steps", "2", "--threads", "1", "--quiet", "--out", str(out), "--name", "x"]
    assert main(args) == 0
    return out / "x"


@pytest.mark.parametrize("query", [
    "/api/gan/runs/x/sample?seed=99999999999999999999", "/api/gan/runs/x/sample?seed=-1", "/api/gan/runs/x/sample?n=10000000000000000000000",
    "/api/gan/runs/x/sample?truncation=nan", "/api/gan/runs/x/sample?truncation=inf", "/api/gan/runs/x/sample?class_id=99999999999999999999",
    "/api/gan/runs/x/interpolate?seed_a=99999999999999999999", "/api/gan/runs/x/interpolate?steps=7",
    "/api/gan/runs/x/interpolate?steps=1000000000000000000000000", "/api/gan/runs/x/sample?truncation=-1e308",
    "/api/jobs?offset=99999999999999999999", "/api/jobs?limit=-3", "/api/jobs?status=" + "x" * 5000,
])
def test_out_of_range_query_values_are_4xx_not_500(tmp_path, gan_run, query):
    shutil.copytree(gan_run, tmp_path / "data" / "runs" / "x")
    with TestClient(_app(tmp_path, max_frames=6), raise_server_exceptions=False) as client:
        assert client.get("/api/gan/runs/x/interpolate?steps=6").status_code == 200
        r = client.get(query)
        assert 400 <= r.status_code < 500, (query, r.status_code, r.text)
        assert isinstance(r.json()["error"], str)


def test_out_of_range_form_values_are_4xx(tmp_path):
    with TestClient(_app(tmp_path), raise_server_exceptions=False) as client:
        for data in ({"seed": "99999999999999999999"}, {"seed": "-1"}, {"style_weight": "nan"}, {"style_weight": "inf"}):
            r = _submit(client, data)
            assert 400 <= r.status_code < 500, (data, r.status_code)
        assert client.get("/api/jobs").json()["total"] == 0


# --------------------------------------------------------------------------- the token


def test_token_travels_in_the_header_or_the_session_cookie_never_the_url(tmp_path):
    with TestClient(_app(tmp_path, token="s3cret")) as client:
        r = client.get("/api/jobs?token=s3cret")
        assert r.status_code == 400 and "Authorization" in r.json()["error"]
        assert client.get("/api/jobs").status_code == 401
        assert client.post("/api/session").status_code == 401
        r = client.post("/api/session", headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and "s3cret" not in cookie
        assert client.get("/api/jobs").status_code == 200  # the cookie alone (what <img> and EventSource send)
        client.cookies.clear()
        client.cookies.set(COOKIE, "forged")
        assert client.get("/api/jobs").status_code == 401


def test_access_log_lines_never_show_a_token():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/api/jobs?token=s3cret&x=1", "1.1", 400), None)
    RedactTokens().filter(record)
    assert "s3cret" not in record.getMessage() and "token=[redacted]&x=1" in record.getMessage()


def test_the_page_sends_the_token_only_in_headers():
    js = (STATIC / "app.js").read_text()
    assert "token=" not in js.replace("#token=", "").replace('get("token")', "")
    assert "Authorization" in js and "/api/session" in js


# --------------------------------------------------------------------------- uploads


def test_a_decompression_bomb_is_called_what_it_is(tmp_path):
    with TestClient(_app(tmp_path, max_pixels=1_000_000)) as client:
        bomb = _submit(client, content=_png_claiming(100_000, 100_000))
        assert bomb.status_code == 400
        message = bomb.json()["error"]
        assert "not an image" not in message and "10000.0 MP" in message and "1.0 MP" in message
        big = _submit(client, content=_png_claiming(2000, 2000))
        assert big.status_code == 400 and "2000x2000 = 4.0 MP" in big.json()["error"] and "limit of 1.0 MP" in big.json()["error"]


def test_the_studio_reads_the_command_lines_formats_gif_included(tmp_path):
    assert FORMATS == INPUT_FORMATS and "GIF" in FORMATS
    with TestClient(_app(tmp_path)) as client:
        r = _submit(client, content=_image(fmt="GIF"))
        assert r.status_code == 202, r.text
        assert _wait(client, r.json()["id"])["status"] == "done"
        ico = io.BytesIO()
        Image.new("RGB", (8, 8)).save(ico, format="ICO")
        r = _submit(client, content=ico.getvalue())
        assert r.status_code == 415 and "GIF" in r.json()["error"]


# --------------------------------------------------------------------------- what clients are told


def test_messages_carry_no_server_paths(tmp_path):
    data = tmp_path / "data"

    def fails(inputs: JobInputs, progress):
        raise BrushworkError(f"{inputs.content}: cannot read (model at {data / 'models' / 'x' / 'weights.safetensors'})")

    with TestClient(_app(tmp_path, methods={"invert": Method("invert", "invert", dict, fails, min_styles=0)})) as client:
        job = _wait(client, _submit(client).json()["id"])
        assert job["status"] == "failed" and str(tmp_path) not in job["error"] and "content" in job["error"]
        runs = data / "runs" / "halfmade"
        runs.mkdir(parents=True)
        (runs / "run.json").write_text('{"brushwork_run": 1, "kind": "gan", "options": {}}')
        r = client.get("/api/gan/runs/halfmade/sample")
        assert r.status_code == 404 and str(tmp_path) not in r.json()["error"] and "checkpoint" in r.json()["error"]
    assert public_message("/srv/data/jobs/ab/c.png: bad", "/srv/data") == "<data>/jobs/ab/c.png: bad"
    assert public_message("/home/u/x/y.png: bad; see /etc/z") == "y.png: bad; see z"


def test_broken_model_folders_are_not_offered(tmp_path):
    from brushwork.models import packaged_models

    source = packaged_models()["candy"]
    models = tmp_path / "data" / "models"
    shutil.copytree(source, models / "good")
    shutil.copytree(source, models / "no-weights")
    (models / "no-weights" / "model.safetensors").unlink()
    shutil.copytree(source, models / "garbled")
    (models / "garbled" / "model.safetensors").write_bytes(b"\xff" * 64)
    with TestClient(_app(tmp_path)) as client:
        names = [m["name"] for m in client.get("/api/methods").json()["methods"]]
    assert "fast:good" in names and "fast:no-weights" not in names and "fast:garbled" not in names
