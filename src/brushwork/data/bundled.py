"""Photos every install has: scikit-image's bundled samples (offline, no download)."""

from __future__ import annotations

import numpy as np
import torch

PHOTOS = ("astronaut", "chelsea", "coffee")


def bundled_photo(name: str) -> torch.Tensor:
    """scikit-image's bundled photo ``name`` as ``(3, H, W)`` floats in [0, 1]."""
    import skimage.data

    arr = getattr(skimage.data, name)()
    return torch.from_numpy(np.asarray(arr[..., :3], dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()
