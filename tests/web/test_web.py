"""The HTTP API with FastAPI's test client: jobs, events, results, errors, queue limits, restarts, GAN runs."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from brushwork.cli import main
from brushwork.imageio import load_image
from brushwork.web import WebSettings, create_app
from brushwork.web.methods import GATYS, JobInputs, Method
from brushwork.web.store import JobRecord, JobStore

from conftest import needs_hed


def _png(w: int, h: int, seed: int = 0, fmt: str = "PNG") -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def _flat(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 40)).save(buf, format="PNG")
    return buf.getvalue()


def _files(content: bytes | None = None, *styles: bytes) -> list:
    content = _png(24, 16, 0) if content is None else content
    styles = styles or (_png(16, 16, 1),)
    return [("content", ("c.png", content, "application/octet-stream"))] + [("style", (f"s{i}.png", s, "image/png")) for i, s in enumerate(styles)]


class Gate:
    """A test method that waits for :meth:`open` (reporting progress meanwhile), then inverts the photo."""

    def __init__(self) -> None:
        self.event, self.started = threading.Event(), threading.Event()

    def run(self, inputs: JobInputs, progress) -> torch.Tensor:
        rgb = load_image(inputs.content).rgb
        self.started.set()
        step = 0
        while not self.event.wait(0.01):
            step = min(step + 1, 99)
            progress(step, 100, lambda: rgb)
        progress(100, 100, lambda: 1 - rgb)
        return 1 - rgb

    def method(self, name: str) -> Method:
        return Method(name, name, lambda options: dict(options), self.run)


def _invert(inputs: JobInputs, progress) -> torch.Tensor:
    rgb = load_image(inputs.content).rgb
    for step in range(1, 4):
        progress(step, 3, lambda: rgb * step / 3)
    return 1 - rgb


INVERT = Method("invert", "invert", lambda options: dict(options), _invert)


def _app(tmp_path: Path, gate: Gate | None = None, **settings):
    methods = {"invert": INVERT, "gatys": GATYS}
    if gate is not None:
        methods["gate"] = gate.method("gate")
    settings.setdefault("allowed_hosts", ("testserver",))  # the test client's Host
    return create_app(WebSettings(data_dir=tmp_path / "data", preview_interval=0.0, **settings), methods=methods)


def _wait(client: TestClient, job_id: str, states=("done", "failed", "cancelled", "interrupted"), timeout: float = 60) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in states:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} still {job['status']}")


def _events(client: TestClient, job_id: str) -> list[tuple[str, dict]]:
    out, name = [], None
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[6:])))
    return out


def test_job_result_is_the_methods_output_and_is_listed(tmp_path):
    content = _png(24, 16, 3)
    with TestClient(_app(tmp_path)) as client:
        r = client.post("/api/jobs", files=_files(content), data={"method": "invert", "size": "64"})
        assert r.status_code == 202, r.text
        job = _wait(client, r.json()["id"])
        assert job["status"] == "done" and job["progress"] == 1.0 and job["options"]["size"] == 64
        res = client.get(f"/api/jobs/{job['id']}/result")
        assert res.status_code == 200 and res.headers["content-type"] == "image/png"
        expected = 255 - np.asarray(Image.open(io.BytesIO(content)))
        got = np.asarray(Image.open(io.BytesIO(res.content)).convert("RGB")).astype(int)
        assert np.abs(got - expected).max() <= 1
        listed = client.get("/api/jobs").json()
        assert listed["total"] == 1 and listed["jobs"][0]["id"] == job["id"]
        assert client.get("/api/jobs", params={"status": "failed"}).json()["jobs"] == []


@needs_hed
def test_gatys_job_streams_previews_and_finishes(tmp_path):
    with TestClient(_app(tmp_path)) as client:
        data = {"method": "gatys", "size": "48", "initial_iterations": "60", "iterations": "2", "preserve_color": "luminance", "style_weight": "2"}
        r = client.post("/api/jobs", files=_files(_png(48, 32, 0), _png(32, 32, 1)), data=data)
        assert r.status_code == 202, r.text
        events = _events(client, r.json()["id"])
        assert events[-1] == ("end", {"status": "done"})
        running = [d for name, d in events if name == "progress" and d["status"] == "running"]
        previews = [d["preview"] for d in running if "preview" in d]
        assert running and previews and previews[0].startswith("data:image/jpeg;base64,")
        assert all(0 <= d["progress"] <= 1 for d in running)
        result = Image.open(io.BytesIO(client.get(f"/api/jobs/{r.json()['id']}/result").content))
        assert result.size == (48, 32)


def test_status_reports_progress_eta_and_queue_position(tmp_path):
    gate = Gate()
    with TestClient(_app(tmp_path, gate)) as client:
        first = client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"]
        second = client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"]
        assert gate.started.wait(10)
        time.sleep(0.1)
        running, queued = client.get(f"/api/jobs/{first}").json(), client.get(f"/api/jobs/{second}").json()
        assert running["status"] == "running" and 0 < running["progress"] < 1 and running["eta"] > 0
        assert running["steps"] == 100 and 0 < running["step"] < 100
        assert queued["status"] == "queued" and queued["queue_position"] == 0
        assert client.get(f"/api/jobs/{first}/preview").headers["content-type"] == "image/jpeg"
        assert client.get(f"/api/jobs/{first}/result").status_code == 409
        gate.event.set()
        assert _wait(client, second)["status"] == "done"


def test_full_queue_answers_429_and_loses_nothing(tmp_path):
    gate = Gate()
    with TestClient(_app(tmp_path, gate, queue_size=2)) as client:
        ids = [client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"]]
        assert gate.started.wait(10)  # the first job left the queue for the worker
        ids += [client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"] for _ in range(2)]
        r = client.post("/api/jobs", files=_files(), data={"method": "gate"})
        assert r.status_code == 429 and "queue is full" in r.json()["error"]
        assert client.get("/api/jobs").json()["total"] == 3
        gate.event.set()
        assert [_wait(client, i)["status"] for i in ids] == ["done"] * 3
        assert client.post("/api/jobs", files=_files(), data={"method": "invert"}).status_code == 202


def test_cancel_queued_and_running_jobs(tmp_path):
    gate = Gate()
    with TestClient(_app(tmp_path, gate)) as client:
        running = client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"]
        queued = client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"]
        assert gate.started.wait(10)
        assert client.post(f"/api/jobs/{queued}/cancel").json()["status"] == "cancelled"
        client.post(f"/api/jobs/{running}/cancel")
        job = _wait(client, running)
        assert job["status"] == "cancelled" and job["result"] is None
        assert not (tmp_path / "data" / "jobs" / running / "result.png").exists()


def test_restart_keeps_results_interrupts_running_and_runs_queued(tmp_path):
    gate = Gate()
    with TestClient(_app(tmp_path, gate)) as client:
        done = client.post("/api/jobs", files=_files(), data={"method": "invert"}).json()["id"]
        _wait(client, done)
        running = client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"]
        assert gate.started.wait(10)
        queued = client.post("/api/jobs", files=_files(), data={"method": "invert"}).json()["id"]
        before = client.get(f"/api/jobs/{done}/result").content
    # the server stopped with one job running and one queued
    with TestClient(_app(tmp_path, Gate())) as client:
        assert client.get(f"/api/jobs/{done}/result").content == before
        assert client.get(f"/api/jobs/{running}").json()["status"] == "interrupted"
        assert _wait(client, queued)["status"] == "done"
        assert {j["id"] for j in client.get("/api/jobs").json()["jobs"]} == {done, running, queued}


def test_crash_while_running_is_recorded_as_interrupted(tmp_path):
    store = JobStore(tmp_path / "data" / "jobs.sqlite3")
    store.insert(JobRecord("a" * 32, "invert", "running", {}, {"content": "content.png", "styles": ["style0.png"]}))
    store.close()  # as if the process had died mid-job
    with TestClient(_app(tmp_path)) as client:
        job = client.get(f"/api/jobs/{'a' * 32}").json()
        assert job["status"] == "interrupted" and "stopped" in job["error"]


def _ico() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="ICO")
    return buf.getvalue()


BAD_SUBMISSIONS = [
    ("no style", lambda: [("content", ("c.png", _png(8, 8), "image/png"))], {"method": "gatys"}, 400, "1 to 4 style images"),
    ("no content", lambda: [("style", ("s.png", _png(8, 8), "image/png"))], {}, 422, "content"),
    ("empty file", lambda: _files(b""), {}, 400, "empty"),
    ("not an image", lambda: _files(b"hello, world"), {}, 400, "not an image"),
    ("truncated", lambda: _files(_png(64, 64)[:300]), {}, 400, "content"),
    ("ico", lambda: _files(None, _ico()), {}, 415, "ICO"),
    ("over upload limit", lambda: _files(_png(64, 64, fmt="BMP")), {}, 413, "upload limit"),
    ("over pixel limit", lambda: _files(_flat(50, 50)), {}, 400, "MP"),
    ("size too large", lambda: _files(), {"size": "5000"}, 400, "size"),
    ("size not a number", lambda: _files(), {"size": "big"}, 422, "size"),
    ("unknown method", lambda: _files(), {"method": "magic"}, 400, "unknown method"),
    ("bad colour option", lambda: _files(), {"method": "gatys", "preserve_color": "sepia"}, 400, "preserve color"),
    ("too many styles", lambda: _files(None, *[_png(8, 8, i) for i in range(5)]), {"method": "gatys"}, 400, "style images"),
]


@pytest.mark.parametrize("files, data, status, match", [b[1:] for b in BAD_SUBMISSIONS], ids=[b[0] for b in BAD_SUBMISSIONS])
def test_bad_submissions_are_json_4xx_and_store_nothing(tmp_path, files, data, status, match):
    with TestClient(_app(tmp_path, max_upload_bytes=6000, max_pixels=2000)) as client:
        r = client.post("/api/jobs", files=files(), data=data)
        assert r.status_code == status, r.text
        assert match in r.json()["error"]
        assert client.get("/api/jobs").json()["total"] == 0
    jobs = tmp_path / "data" / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir())


@pytest.mark.parametrize("path, status", [
    ("/api/jobs/0123", 404), ("/api/jobs/..%2F..%2Fjobs.sqlite3/result", 404), ("/api/jobs/" + "f" * 32 + "/result", 404),
    ("/api/jobs/" + "f" * 32 + "/events", 404), ("/api/jobs?limit=0", 422), ("/api/gan/runs/nope/sample", 404), ("/api/nothing", 404),
])
def test_bad_lookups_are_json_4xx(tmp_path, path, status):
    with TestClient(_app(tmp_path)) as client:
        r = client.get(path)
        assert r.status_code == status and isinstance(r.json()["error"], str)


def test_body_over_the_limit_is_refused_before_parsing(tmp_path):
    with TestClient(_app(tmp_path, max_upload_bytes=1000)) as client:
        r = client.post("/api/jobs", content=b"x" * 1_100_000, headers={"content-type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413 and "error" in r.json()


def test_token_is_required_when_set(tmp_path):
    with TestClient(_app(tmp_path, token="s3cret")) as client:
        assert client.get("/api/jobs").status_code == 401
        assert client.get("/api/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/jobs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/api/jobs?token=s3cret").status_code == 400  # never in a URL (logs, history)
        assert client.get("/").status_code == 200  # the page itself holds no data


def test_serve_refuses_a_public_address_without_a_token(capsys, monkeypatch):
    monkeypatch.delenv("BRUSHWORK_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--token" in err[0]


def test_page_openapi_and_methods(tmp_path):
    with TestClient(_app(tmp_path)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "Brushwork studio" in page.text and "//cdn" not in page.text
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/docs").status_code == 404  # its viewer would load scripts from a CDN
        paths = client.get("/openapi.json").json()["paths"]
        for p in ("/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/events", "/api/jobs/{job_id}/result",
                  "/api/jobs/{job_id}/cancel", "/api/gan/runs", "/api/gan/runs/{name}/sample", "/api/gan/runs/{name}/interpolate"):
            assert p in paths
        names = [m["name"] for m in client.get("/api/methods").json()["methods"]]
        assert names[:2] == ["invert", "gatys"]  # the registry first, its first method the default
        assert {"fast:candy", "fast:mosaic", "fast:rain-princess", "adain:adain-light"} <= set(names[2:])  # packaged models


def test_gan_runs_sample_and_interpolate(tmp_path):
    from brushwork.gan.sample import load_generator, sample

    tiny = ["--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "model.z_dim=8", "--set", "data.img_size=8",
            "--set", "model.conditional=true", "--batch-size", "8", "--threads", "1", "--quiet"]
    runs = tmp_path / "data" / "runs"
    assert main(["gan", "train", "--preset", "dcgan-digits", *tiny, "--steps", "2", "--out", str(runs), "--name", "digits"]) == 0
    (runs / "not-a-run").mkdir()
    gen = load_generator(runs / "digits")
    with TestClient(_app(tmp_path)) as client:
        listed = client.get("/api/gan/runs").json()["runs"]
        assert [r["name"] for r in listed] == ["digits"] and listed[0]["num_classes"] == 10
        r = client.get("/api/gan/runs/digits/sample", params={"n": 4, "seed": 3, "class_id": 2, "truncation": 1.0})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        grid = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)
        first = (sample(gen, 4, seed=3, class_id=2, truncation=1.0)[0].permute(1, 2, 0).numpy() * 255).round()
        assert grid.shape == (2 + 2 * 10, 2 + 2 * 10, 3)
        assert np.abs(grid[2:10, 2:10] - first).max() <= 1  # the first tile is sample 0 (greyscale repeated)
        strip = client.get("/api/gan/runs/digits/interpolate", params={"seed_a": 3, "seed_b": 4, "steps": 5})
        strip_arr = np.asarray(Image.open(io.BytesIO(strip.content)).convert("RGB")).astype(int)
        assert strip_arr.shape == (12, 2 + 5 * 10, 3)
        end = (sample(gen, 1, seed=4)[0].permute(1, 2, 0).numpy() * 255).round()
        assert np.abs(strip_arr[2:10, 2 + 4 * 10: 10 + 4 * 10] - end).max() <= 1
        for params, match in [({"n": 0}, "n must be"), ({"class_id": 10}, "class must be"), ({"truncation": -1}, "truncation")]:
            bad = client.get("/api/gan/runs/digits/sample", params=params)
            assert bad.status_code == 400 and match in bad.json()["error"]
        assert client.get("/api/gan/runs/not-a-run/sample").status_code == 404


def test_a_bug_in_a_handler_is_a_json_500(tmp_path):
    def broken(options):
        raise RuntimeError("boom")

    app = create_app(WebSettings(data_dir=tmp_path / "data", allowed_hosts=("testserver",)), methods={"broken": Method("broken", "broken", broken, _invert)})
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/jobs", files=_files())
        assert r.status_code == 500 and "RuntimeError" in r.json()["error"]


def test_a_method_that_fails_marks_the_job_failed_with_its_message(tmp_path):
    from brushwork.errors import BrushworkError

    def fails(inputs, progress):
        raise BrushworkError("style image too small for this method")

    app = create_app(WebSettings(data_dir=tmp_path / "data", allowed_hosts=("testserver",)), methods={"fails": Method("fails", "fails", dict, fails)})
    with TestClient(app) as client:
        job = _wait(client, client.post("/api/jobs", files=_files()).json()["id"])
        assert job["status"] == "failed" and job["error"] == "style image too small for this method"
        assert client.get(f"/api/jobs/{job['id']}/result").status_code == 409


def test_shutdown_ends_event_streams_and_refuses_new_jobs(tmp_path):
    gate = Gate()
    app = _app(tmp_path, gate)
    with TestClient(app) as client:
        running = client.post("/api/jobs", files=_files(), data={"method": "gate"}).json()["id"]
        assert gate.started.wait(10)
        app.state.manager.begin_shutdown()  # what SIGTERM / Ctrl-C does first (web.app.run_server)
        assert _events(client, running)[-1] == ("shutdown", {})
        r = client.post("/api/jobs", files=_files(), data={"method": "invert"})
        assert r.status_code == 503 and "shutting down" in r.json()["error"]
    with TestClient(_app(tmp_path)) as client:
        assert client.get(f"/api/jobs/{running}").json()["status"] == "interrupted"


def _fast_model(folder: Path) -> Path:
    from brushwork.style.fast import FastConfig, TransformerNet
    from brushwork.models import save_pretrained

    torch.manual_seed(0)
    return save_pretrained(TransformerNet(FastConfig(channels=(4, 4, 4), residual_blocks=1, edge_kernel=3)), folder, backbone="vgg16-hed")


def _tensor(png: bytes) -> torch.Tensor:
    return load_image(png).rgb


def test_fast_models_in_the_data_dir_are_methods(tmp_path):
    from brushwork.style.feedforward import FeedForward, FFOptions

    model = _fast_model(tmp_path / "data" / "models" / "tiny")
    _fast_model(tmp_path / "data" / "models" / "mosaic")  # a folder of a packaged model's name wins over it
    (tmp_path / "data" / "models" / "junk").mkdir()
    content = _png(40, 24, 5)
    with TestClient(_app(tmp_path)) as client:
        listed = {m["name"]: m for m in client.get("/api/methods").json()["methods"]}
        assert listed["fast:tiny"]["min_styles"] == listed["fast:tiny"]["max_styles"] == 0 and "fast:junk" not in listed
        r = client.post("/api/jobs", files=[("content", ("c.png", content, "image/png"))],
                        data={"method": "fast:tiny", "size": "32", "preserve_color": "luminance"})
        assert r.status_code == 202, r.text
        job = _wait(client, r.json()["id"])
        assert job["status"] == "done", job
        got = _tensor(client.get(f"/api/jobs/{job['id']}/result").content)
        expected = FeedForward(model)(_tensor(content), [], FFOptions(size=32, preserve_color="luminance"))
        assert got.shape == expected.shape == (3, 19, 32)
        assert (got - expected).abs().max() <= 1.5 / 255
        r = client.post("/api/jobs", files=[("content", ("c.png", content, "image/png"))], data={"method": "fast:mosaic", "size": "32"})
        got = _tensor(client.get(f"/api/jobs/{_wait(client, r.json()['id'])['id']}/result").content)
        assert (got - FeedForward(model)(_tensor(content), [], FFOptions(size=32))).abs().max() <= 1.5 / 255  # the tiny one
        for data, files, match in [({}, _files(), "no style image"), ({"iterations": "5"}, _files()[:1], "no iterations"),
                                   ({"preserve_color": "histogram"}, _files()[:1], "histogram"), ({"style_weight": "0.5"}, _files()[:1], "fixed")]:
            bad = client.post("/api/jobs", files=files, data={"method": "fast:tiny", **data})
            assert bad.status_code == 400 and match in bad.json()["error"], bad.text


@needs_hed
def test_adain_models_take_style_images_and_alpha(tmp_path):
    from brushwork.style.adain import AdaINConfig, Decoder
    from brushwork.style.feedforward import FeedForward, FFOptions
    from brushwork.models import save_pretrained

    torch.manual_seed(0)
    model = save_pretrained(Decoder(AdaINConfig(width=0.125)), tmp_path / "data" / "models" / "light", backbone="vgg16-hed")
    content, style = _png(48, 32, 6), _png(32, 32, 7)
    with TestClient(_app(tmp_path)) as client:
        r = client.post("/api/jobs", files=_files(content, style), data={"method": "adain:light", "size": "32", "style_weight": "0.5"})
        job = _wait(client, r.json()["id"])
        assert job["status"] == "done", job
        got = _tensor(client.get(f"/api/jobs/{job['id']}/result").content)
        expected = FeedForward(model)(_tensor(content), [_tensor(style)], FFOptions(size=32, alpha=0.5))
        assert got.shape == expected.shape and (got - expected).abs().max() <= 1.5 / 255
        bad = client.post("/api/jobs", files=_files(content, style), data={"method": "adain:light", "style_weight": "2"})
        assert bad.status_code == 400 and "alpha" in bad.json()["error"]


def test_translation_runs_in_the_data_dir_are_methods(tmp_path):
    from brushwork.cli import main
    from brushwork.translate.apply import load_translator

    task, runs = tmp_path / "task", tmp_path / "data" / "runs"
    assert main(["translate", "make-data", str(task), "--size", "36", "--train", "4", "--test", "1"]) == 0
    tiny = ["--size", "32", "--width", "4", "--amp", "off", "--steps", "2", "-q"]
    assert main(["translate", "train", "--model", "cyclegan", "--a", str(task / "trainA"), "--b", str(task / "trainB"), "--out", str(runs / "sepia"), *tiny]) == 0
    assert main(["translate", "train", "--model", "pix2pix", "--a", str(task / "trainA"), "--b", str(task / "trainB"), "--out", str(runs / "paired"), *tiny]) == 0
    (runs / "empty").mkdir()
    content = _png(40, 24, 8)
    with TestClient(_app(tmp_path)) as client:
        listed = {m["name"]: m for m in client.get("/api/methods").json()["methods"]}
        assert {"translate:sepia:a2b", "translate:sepia:b2a", "translate:paired:a2b"} <= set(listed)
        assert "translate:paired:b2a" not in listed and not any("empty" in name for name in listed)
        assert listed["translate:sepia:b2a"]["max_styles"] == 0 and listed["translate:sepia:b2a"]["options"] == ["size"]
        r = client.post("/api/jobs", files=[("content", ("c.png", content, "image/png"))], data={"method": "translate:sepia:b2a", "size": "32"})
        assert r.status_code == 202, r.text
        job = _wait(client, r.json()["id"])
        assert job["status"] == "done", job
        got = _tensor(client.get(f"/api/jobs/{job['id']}/result").content)
        from brushwork.imageio import resize_long_side

        expected = load_translator(runs / "sepia", "b2a")(resize_long_side(_tensor(content), 32))
        assert got.shape == expected.shape == (3, 19, 32)
        assert (got - expected).abs().max() <= 1.5 / 255
        bad = client.post("/api/jobs", files=[("content", ("c.png", content, "image/png"))], data={"method": "translate:sepia:a2b", "style_weight": "0.5"})
        assert bad.status_code == 400 and "mapping is fixed" in bad.json()["error"]
