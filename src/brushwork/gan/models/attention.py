"""Self-attention for GANs (Zhang et al. 2019, SAGAN), usable in G and D at one resolution.

``SelfAttention(C)``: ``(N, C, H, W) -> (N, C, H, W)``. Queries and keys are ``C / 8``
channels, values ``C / 2``; keys and values are max-pooled 2x2 (BigGAN's cheaper variant,
when ``H`` and ``W`` are even); every position attends to every pooled position, and the
result, projected back to ``C`` channels, is added to the input scaled by ``gamma``, which
starts at 0 so a new block is the identity.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import maybe_sn


class SelfAttention(nn.Module):
    """Non-local block ``x + gamma * o(softmax(q^T k) v)`` (see module docstring)."""

    def __init__(self, channels: int, spectral_norm: bool = True) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"self-attention needs at least 8 channels, not {channels}")
        qk, v = channels // 8, channels // 2
        self.query = maybe_sn(nn.Conv2d(channels, qk, 1, bias=False), spectral_norm)
        self.key = maybe_sn(nn.Conv2d(channels, qk, 1, bias=False), spectral_norm)
        self.value = maybe_sn(nn.Conv2d(channels, v, 1, bias=False), spectral_norm)
        self.out = maybe_sn(nn.Conv2d(v, channels, 1, bias=False), spectral_norm)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        pool = (lambda t: F.max_pool2d(t, 2)) if h % 2 == 0 and w % 2 == 0 and h * w > 4 else (lambda t: t)
        q = self.query(x).flatten(2)  # (N, C/8, HW)
        k = pool(self.key(x)).flatten(2)  # (N, C/8, HW')
        v = pool(self.value(x)).flatten(2)  # (N, C/2, HW')
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (N, HW, HW')
        o = (v @ attn.transpose(1, 2)).view(n, -1, h, w)  # (N, C/2, H, W)
        return x + self.gamma * self.out(o)


def attention_index(resolutions: list[int], attention_res: int, img_size: int) -> int:
    """Index of the first block whose output has ``attention_res`` px (-1 when 0 = no attention).

    Raises ValueError for a resolution no block produces (powers of two from 8 to ``img_size / 2``).
    """
    if not attention_res:
        return -1
    if attention_res not in resolutions or attention_res >= img_size:
        choices = sorted({r for r in resolutions if r < img_size})
        raise ValueError(f"model.attention_res {attention_res} px is impossible at {img_size} px (choose 0 or one of {choices})")
    return resolutions.index(attention_res)
