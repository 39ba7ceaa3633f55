"""Style images made from nothing but a seed, so every install has something to paint with."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

PALETTES = {
    # deep blues and ochres in the manner of a starry-night sky
    "night": [(20, 36, 92), (32, 70, 150), (70, 120, 190), (230, 200, 80), (245, 225, 140), (15, 20, 40)],
    # warm reds, oranges and cream like a sunset in oils
    "ember": [(140, 30, 25), (200, 70, 30), (235, 140, 50), (250, 215, 150), (90, 20, 40), (40, 15, 20)],
}


def brush_strokes(size: int = 512, palette: str = "night", seed: int = 0) -> Image.Image:
    """A painting-like texture of thick, swirling, overlapping strokes.

    Strokes follow a smooth random flow field (sums of sines), are drawn in the
    palette's colours with a little jitter, and get a slight blur so their edges
    look wet rather than aliased. Returns an RGB PIL image ``size`` x ``size``.
    """
    rng = np.random.default_rng(seed)
    colors = np.array(PALETTES[palette], dtype=np.float64)
    img = Image.new("RGB", (size, size), tuple(int(c) for c in colors[0]))
    draw = ImageDraw.Draw(img)
    freqs = rng.uniform(1.0, 3.0, size=(3, 2)) * 2 * math.pi / size
    phases = rng.uniform(0, 2 * math.pi, size=3)

    def angle(x: float, y: float) -> float:
        return float(sum(math.sin(fx * x + fy * y + p) for (fx, fy), p in zip(freqs, phases)))

    n_strokes = int(size * size / 90)
    for _ in range(n_strokes):
        x, y = rng.uniform(0, size, size=2)
        color = colors[rng.integers(len(colors))] + rng.normal(0, 12, size=3)
        width = int(rng.integers(max(2, size // 120), max(4, size // 45)))
        points = [(x, y)]
        for _ in range(int(rng.integers(4, 10))):
            a = angle(x, y)
            x, y = x + math.cos(a) * width * 1.2, y + math.sin(a) * width * 1.2
            points.append((x, y))
        draw.line(points, fill=tuple(int(c) for c in np.clip(color, 0, 255)), width=width, joint="curve")
    return img.filter(ImageFilter.GaussianBlur(radius=max(0.6, size / 700)))


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> ``(3, H, W)`` float in [0, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()
