"""Data-parallel set-up for ``torchrun``: gloo on CPU, NCCL on CUDA.

Gradients are averaged explicitly with one all-reduce per model after the backward pass
(:func:`average_gradients`) instead of wrapping models in ``DistributedDataParallel``:
GAN steps run the discriminator several times per update and take double-backward
gradient penalties, which DDP's hooks do not support, while an explicit all-reduce gives
the same averaged gradient in every case.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place: ``rank`` of ``world`` processes; ``world == 1`` when not distributed."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, logs and samples."""
        return self.rank == 0


def setup(device: str) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1), else a 1-process DistInfo.

    ``device`` ``cuda*`` uses NCCL and pins this process to ``cuda:LOCAL_RANK``; otherwise gloo.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local)


def teardown(info: DistInfo, *, synchronize: bool = True) -> None:
    """Leave the process group (if this process joined one).

    With ``synchronize`` (the normal end of a run), every process first waits at a barrier:
    rank 0 may still be writing the final checkpoint, and a gloo process group torn down on
    one rank while its peer is busy can abort that process at exit ("terminate called
    without an active exception"). After an error, skip the barrier (a peer may never come).
    """
    if info.world > 1 and dist.is_initialized():
        if synchronize:
            dist.barrier()
        dist.destroy_process_group()


def average_gradients(params: Iterable[torch.nn.Parameter], info: DistInfo) -> None:
    """All-reduce and average the gradients of ``params`` across processes (one flat buffer)."""
    if info.world == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every process (e.g. the run folder it created)."""
    if info.world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_sum(values: list[float], info: DistInfo) -> list[float]:
    """Element-wise sums of ``values`` over all processes (float64; ``values`` itself with one process)."""
    if info.world == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def all_ranks_ok(ok: bool, info: DistInfo) -> bool:
    """True when ``ok`` is true on every process (so they stop together)."""
    if info.world == 1:
        return ok
    t = torch.tensor([0 if ok else 1])
    dist.all_reduce(t)
    return int(t.item()) == 0
