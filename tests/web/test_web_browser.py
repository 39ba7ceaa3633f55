"""One real browser (Debian's headless Chromium, driven by Playwright): upload two images,
run a tiny stylisation, see the result on the page, save a screenshot."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import needs_hed

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    needs_hed,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed (pip install playwright)"),
]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(tmp_path):
    """The studio on a free localhost port, served by uvicorn in a thread."""
    import uvicorn

    from brushwork.web import WebSettings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(WebSettings(data_dir=tmp_path / "data", preview_interval=0.3))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.time() + 20
    while not srv.started and time.time() < end:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(20)


def test_upload_stylise_and_see_the_result(server, tmp_path):
    from playwright.sync_api import sync_playwright

    from brushwork.data.bundled import bundled_photo
    from brushwork.imageio import save_image
    from brushwork.style.procedural import brush_strokes

    content, style = tmp_path / "photo.jpg", tmp_path / "painting.png"
    save_image(bundled_photo("chelsea"), content)
    brush_strokes(256, "night", seed=1).save(style)
    shot = tmp_path / "studio.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True,
                                                        args=CHROMIUM_ARGS, viewport={"width": 1100, "height": 900})
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server)
            page.wait_for_selector("#method option[value=gatys]", state="attached")
            page.set_input_files("#content-input", str(content))
            page.set_input_files("#style-input", str(style))
            page.fill("#size", "160")
            page.fill("#iterations", "40")
            page.click("#submit")
            page.wait_for_selector("#download:not([hidden])", timeout=120_000)
            assert page.inner_text("#job-message") == "Done."
            size = page.eval_on_selector("#live-image", "img => [img.naturalWidth, img.naturalHeight]")
            assert size == [160, 106]  # chelsea is 451 x 300: long side 160
            page.wait_for_selector("#gallery-items .card img", timeout=10_000)
            assert page.eval_on_selector("#gallery-items .card img", "img => img.complete && img.naturalWidth") == 160
            assert not errors, errors
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    with Image.open(shot) as im:
        assert im.size[0] == 1100 and im.size[1] >= 900
