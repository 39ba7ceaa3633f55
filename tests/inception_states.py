"""A random state dict in the pytorch-fid Inception layout, for tests that need the network's shape but not its weights."""

from __future__ import annotations

import numpy as np
import torch

from brushwork.backbones.inception import expected_keys


def random_inception_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with every pytorch-fid key and shape, random values, as the 2018 file (no num_batches_tracked)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in expected_keys().items():
        if key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        elif key.endswith(("running_mean", "bn.bias")):
            state[key] = torch.randn(shape, generator=gen) * 0.1
        elif key.endswith("bn.weight"):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:  # convolution / linear weights, He-like scale keeps activations alive
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            state[key] = torch.randn(shape, generator=gen) * (2.0 / fan_in) ** 0.5
    return state
