"""Will a stylisation fit in memory? Estimate before starting, refuse with a size that fits.

Optimisation-based stylisation keeps every VGG activation down to ``relu4_1`` for the
backward pass, so its memory grows with the pixel count: measured on the CPU with
``vgg16-hed`` (peak resident memory of one forward + backward pass, this module's
calibration) about 2.5 KB per output pixel in float32 (0.74 GB at 512x512, 2.6 GB at
1024x1024) and about 15% less with bfloat16 autocast. Running out of memory half-way
kills the process (or thrashes the machine) with nothing saved; a clear error up front
that names the largest size that fits is better.
"""

from __future__ import annotations

import math

import torch

from ..errors import BrushworkError

BYTES_PER_PIXEL = 2600  # float32 activations + gradients to relu4_1, with margin
BASE_BYTES = 512 * 2**20  # model weights, targets, optimiser state, interpreter


def estimate_bytes(hw: tuple[int, int]) -> int:
    """Bytes one optimisation scale of ``hw`` = ``(H, W)`` pixels needs (float32, conservative)."""
    return BASE_BYTES + BYTES_PER_PIXEL * hw[0] * hw[1]


def available_bytes(device: torch.device | str) -> int | None:
    """Free memory on ``device`` (CUDA: the GPU's free memory; CPU: :func:`brushwork.memory.available_memory`,
    Linux ``MemAvailable`` capped by ``BRUSHWORK_MEMORY_LIMIT``, 4 GiB where unknown)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return int(free)
    from ..memory import available_memory

    return available_memory()


def check_fits(hw: tuple[int, int], device: torch.device | str, available: int | None = None) -> None:
    """Raise BrushworkError when a scale of ``hw`` pixels will not fit in the memory ``device`` has free.

    ``available`` overrides the measured free memory (tests, or a budget of one's own);
    with the free memory unknown, nothing is checked.
    """
    free = available_bytes(device) if available is None else available
    if free is None or estimate_bytes(hw) <= free:
        return
    fits = max(0, free - BASE_BYTES) / BYTES_PER_PIXEL  # pixels that fit
    scale = math.sqrt(fits / (hw[0] * hw[1]))
    long_side = int(max(hw) * scale) // 16 * 16
    gb = estimate_bytes(hw) / 2**30
    hint = f"use --size {long_side} or less" if long_side >= 64 else "free some memory first"
    where = "GPU" if torch.device(device).type == "cuda" else "RAM"
    raise BrushworkError(f"stylising at {hw[1]}x{hw[0]} px needs about {gb:.1f} GB but only {free / 2**30:.1f} GB of {where} is free; {hint}")
