"""Progressive growing (Karras et al. 2018) for the DCGAN and ResNet families.

The wrapped generator and discriminator keep their full-resolution layers; what grows is
the resolution they *use*. At stage resolution ``r`` (from ``start`` up to the image size
``S``) G runs its layers up to ``r`` px, turns that level into an image with a 1x1 "to
RGB" head, and up-samples it (nearest) to ``S``; D average-pools its ``S`` px input to
``r``, maps it to features with a 1x1 "from RGB" head and runs its layers from ``r`` down.
While a new level fades in (``alpha`` from 0 to 1), G blends the up-sampled image of the
previous level with the new one and D blends the previous level's head on the pooled
input with the new level's path, as in the paper. At ``r = S, alpha = 1`` both are
exactly the wrapped models. Because a G output at ``r`` is constant on ``S / r`` blocks
and D pools to ``r``, real images need no resizing.

``stage`` (resolution and ``alpha``) lives in buffers, so checkpoints, EMA copies and
exported models keep it; the trainer sets it from the step with :func:`schedule`.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Discriminator, Generator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .layers import leaky, projection
from .resnet import ResNetDiscriminator, ResNetGenerator


def schedule(step: int, start: int, size: int, grow_every: int, fade_steps: int) -> tuple[int, float]:
    """``(resolution, alpha)`` after ``step`` steps: stage ``k`` (resolution ``start * 2^k``) lasts
    ``grow_every`` steps, the first ``fade_steps`` of which fade the new level in."""
    stages = int(round(math.log2(size / start)))
    k = min(step // grow_every, stages)
    into = step - k * grow_every
    alpha = 1.0 if k == 0 or fade_steps <= 0 else min(1.0, into / fade_steps)
    return start * 2**k, alpha


def check_start(start: int, size: int) -> None:
    """ValueError unless ``start`` is a power of two in ``[8, size]``."""
    if start < 8 or start > size or 2 ** int(round(math.log2(start))) != start:
        raise ValueError(f"progressive growing must start at a power of two from 8 to {size} px, not {start}")


class _Stage(nn.Module):
    """Buffers ``resolution`` and ``alpha`` shared by the progressive wrappers."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.register_buffer("resolution", torch.tensor(float(size)))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_stage(self, resolution: int, alpha: float) -> None:
        """Use ``resolution`` px with the newest level blended in by ``alpha`` in ``[0, 1]``."""
        self.resolution.fill_(float(resolution))
        self.alpha.fill_(float(alpha))

    def stage(self) -> tuple[int, float]:
        return int(self.resolution.item()), float(self.alpha.item())


def _g_levels(G: Generator, z: torch.Tensor, y: torch.Tensor | None) -> Iterator[tuple[int, torch.Tensor]]:
    """``(resolution, features)`` of each level of a DCGAN / ResNet generator, coarse to fine.
    The full-resolution level yields the pre-activation image itself."""
    if isinstance(G, DCGANGenerator):
        h = z if G.embed is None else z * G.embed(y)
        h = F.relu(G.stem_norm(G.stem(h.view(*h.shape, 1, 1)), y))
        yield 4, h
        for i, (up, norm) in enumerate(zip(G.ups, G.norms)):
            h = F.relu(norm(up(h), y))
            yield 8 * 2**i, h
        yield G.out_shape[-1], G.to_rgb(h)
    else:
        h = G.stem(z).view(z.shape[0], G.width, 4, 4)
        for i, block in enumerate(G.blocks):
            yield 4 * 2**i, h
            h = block(h, y)
        yield G.out_shape[-1], G.to_rgb(F.relu(G.norm(h)))


class ProgressiveGenerator(_Stage, Generator):
    """A growing DCGAN / ResNet generator; same call signature and output as the wrapped one."""

    def __init__(self, base: DCGANGenerator | ResNetGenerator, start: int) -> None:
        size = base.out_shape[-1]
        check_start(start, size)
        super().__init__(size)
        self.base = base
        self.z_dim, self.num_classes, self.output, self.out_shape = base.z_dim, base.num_classes, base.output, base.out_shape
        widths = _level_widths(base)
        self.to_rgb = nn.ModuleDict({str(r): nn.Conv2d(c, base.out_shape[0], 1) for r, c in widths.items() if start // 2 <= r < size})

    def _rgb(self, r: int, h: torch.Tensor) -> torch.Tensor:
        return h if r == self.out_shape[-1] else self.to_rgb[str(r)](F.relu(h))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        res, alpha = self.stage()
        size = self.out_shape[-1]
        prev = None
        for r, h in _g_levels(self.base, z, y):
            if r == res // 2 and alpha < 1:
                prev = self._rgb(r, h)
            if r == res:
                img = self._rgb(r, h)
                break
        if prev is not None:
            img = torch.lerp(F.interpolate(prev, scale_factor=2.0, mode="nearest"), img, alpha)
        if res < size:
            img = F.interpolate(img, scale_factor=float(size // res), mode="nearest")
        return self.activate(img)


def _level_widths(G: Generator) -> dict[int, int]:
    """Channels of each hidden level of a DCGAN / ResNet generator (4 px up to the last hidden one)."""
    size = G.out_shape[-1]
    if isinstance(G, DCGANGenerator):
        chans = [G.stem.out_channels] + [up.out_channels for up in G.ups]
        return {4 * 2**i: c for i, c in enumerate(chans)}
    return {4 * 2**i: G.width for i in range(int(math.log2(size)) - 2)}


def _d_parts(D: Discriminator) -> tuple[dict[int, tuple[Callable[[torch.Tensor], torch.Tensor], int]], Callable[..., torch.Tensor], int]:
    """For a DCGAN / ResNet discriminator: ``{resolution: (halving step, input channels)}``,
    the tail (features at the lowest resolution, labels -> logits) and that resolution."""
    if isinstance(D, DCGANDiscriminator):
        steps = [(lambda x, m=D.from_rgb: leaky(m(x)), D.from_rgb.in_channels)]
        steps += [(lambda h, d=d, n=n: leaky(n(d(h))), d.in_channels) for d, n in zip(D.downs, D.norms)]

        def tail(h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
            if D.mbstd is not None:
                h = D.mbstd(h)
            return D.out(h).flatten() + projection(h.sum(dim=(2, 3)), y, D.embed)

        low = 4
    else:
        blocks = list(D.blocks)
        downs = [b for b in blocks if b.down]
        steps = [(b, b.conv1.in_channels) for b in downs]
        rest = nn.Sequential(*blocks[len(downs) :])

        def tail(h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
            h = F.relu(rest(h))
            if D.mbstd is not None:
                h = D.mbstd(h)
            h = h.sum(dim=(2, 3))
            return D.out(h).squeeze(1) + projection(h, y, D.embed)

        low = 8
    size = low * 2 ** len(steps)
    return {size // 2**i: s for i, s in enumerate(steps)}, tail, low


class ProgressiveDiscriminator(_Stage, Discriminator):
    """A growing DCGAN / ResNet discriminator; takes full-size images like the wrapped one."""

    def __init__(self, base: DCGANDiscriminator | ResNetDiscriminator, size: int, start: int) -> None:
        check_start(start, size)
        super().__init__(size)
        if base.pack != 1:
            raise ValueError("progressive growing does not support packed discriminators (model.pack > 1)")
        self.base, self.pack, self.num_classes, self.size = base, 1, base.num_classes, size
        steps, _, low = _d_parts(base)
        self.channels = base.from_rgb.in_channels if isinstance(base, DCGANDiscriminator) else base.blocks[0].conv1.in_channels
        heads = {r: c for r, (_, c) in steps.items() if start // 2 <= r < size}
        if start // 2 <= low:
            heads[low] = _tail_channels(base)
        self.from_rgb = nn.ModuleDict({str(r): nn.Conv2d(self.channels, c, 1) for r, c in heads.items()})

    def _head(self, r: int, x: torch.Tensor) -> torch.Tensor:
        return leaky(self.from_rgb[str(r)](x))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        res, alpha = self.stage()
        steps, tail, low = _d_parts(self.base)
        x_r = F.avg_pool2d(x, self.size // res) if res < self.size else x
        if res == self.size:
            h = steps[res][0](x)
        elif res == low:
            h = self._head(res, x_r)  # straight into the tail
        else:
            h = steps[res][0](self._head(res, x_r))
        if alpha < 1 and res // 2 >= low:
            h = torch.lerp(self._head(res // 2, F.avg_pool2d(x_r, 2)), h, alpha)
        r = res // 2
        while r > low:
            h = steps[r][0](h)
            r //= 2
        return tail(h, y)


def _tail_channels(D: Discriminator) -> int:
    """Feature channels the tail takes (before any minibatch-std channel)."""
    last = D.out.in_channels if isinstance(D, DCGANDiscriminator) else D.out.in_features
    return last - (1 if D.mbstd is not None else 0)
