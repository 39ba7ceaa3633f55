"""The history pool of generated images (Shrivastava et al. 2017), as CycleGAN uses it.

Until the pool holds ``size`` images, every generated image is stored and shown to the
discriminator as is. Once it is full, each image is, with probability 1/2, swapped for a
uniformly chosen stored one (the stored one goes to the discriminator, the new one takes its
place), else passed through. The pool is a module with fixed-shape buffers, so it travels in
checkpoints like the networks, and all its randomness comes from an explicit generator.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class HistoryPool(nn.Module):
    """``pool(images, generator)`` -> images for the discriminator (see the module docs).

    Args:
        size: capacity (50 in CycleGAN); 0 disables the pool (images pass through).
        shape: ``(C, H, W)`` of one image.
    """

    def __init__(self, size: int, shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def forward(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for img in images.detach():
            n = int(self.count)
            if n < self.size:
                self.images[n] = img
                self.count += 1
                out.append(img)
            elif torch.rand((), generator=generator).item() > 0.5:
                k = int(torch.randint(0, self.size, (), generator=generator))
                out.append(self.images[k].clone())
                self.images[k] = img
            else:
                out.append(img)
        return torch.stack(out)
