"""The process settings that decide a training trajectory besides its config, kept with the run.

Two runs of the same config match bitwise only when they also use the same number of CPU
threads (a reduction split over N threads adds in another order), the same device, the
same deterministic-kernel and float32-matmul choices and the same PyTorch build. A run
records them in ``run.json`` (``options["runtime"]``) when it starts; ``--resume`` puts
them back, and says in one warning line when the user asks for something else, since
the continued run then no longer equals an uninterrupted one.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import torch

Warn = Callable[[str], None]
"""Receives one warning line (without the ``brushwork: warning:`` prefix)."""

NO_MATCH = "the result will no longer match an uninterrupted run bitwise"


def _kernel_flags() -> dict[str, Any]:
    """Deterministic-kernel and matmul-precision switches as PyTorch has them now."""
    return {
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
    }


def capture(threads: int, device: str) -> dict[str, Any]:
    """Apply ``threads`` (0 = PyTorch's default) and return the record a new run keeps.

    Returns ``{"threads": N actually used, "device": device, "torch": version, <kernel flags>}``.
    """
    from ..precision import fast_bf16

    if threads:
        torch.set_num_threads(threads)
    return {"threads": torch.get_num_threads(), "device": device, "torch": torch.__version__,
            "native_bf16": fast_bf16(device), **_kernel_flags()}


def _set_kernel_flags(saved: dict[str, Any]) -> None:
    if "deterministic_algorithms" in saved:
        torch.use_deterministic_algorithms(bool(saved["deterministic_algorithms"]))
    if "float32_matmul_precision" in saved:
        torch.set_float32_matmul_precision(str(saved["float32_matmul_precision"]))
    for key, (obj, attr) in {"cudnn_deterministic": (torch.backends.cudnn, "deterministic"),
                             "cudnn_benchmark": (torch.backends.cudnn, "benchmark"),
                             "cuda_matmul_allow_tf32": (torch.backends.cuda.matmul, "allow_tf32"),
                             "cudnn_allow_tf32": (torch.backends.cudnn, "allow_tf32")}.items():
        if key in saved:
            setattr(obj, attr, bool(saved[key]))


def restore(saved: dict[str, Any] | None, *, threads: int, device: str, warn: Warn) -> str:
    """Put a resumed run's process settings back; returns the device to train on.

    Args:
        saved: ``options["runtime"]`` of the run (None for runs made before it was kept:
            then only what the user gives applies).
        threads: the ``--threads`` given now (0 = not given: the run's own count).
        device: the ``--device`` given now (``auto`` = not given: the run's own device).
        warn: called once per setting that differs from the run's (thread count, device,
            native bfloat16 (what ``amp`` "auto" picks), PyTorch version), with a line saying the result will no longer match bitwise.
    """
    saved = saved if isinstance(saved, dict) else {}
    own = saved.get("threads")
    if threads and own and threads != own:
        warn(f"--threads {threads} differs from the run's {own}: {NO_MATCH}")
    if threads or own:
        torch.set_num_threads(int(threads or own))
    _set_kernel_flags(saved)
    dev = device
    own_dev = saved.get("device")
    if device == "auto" and own_dev:
        dev = own_dev if _available(own_dev) else "auto"
        if dev == "auto":
            warn(f"the run trained on {own_dev}, which this machine lacks: {NO_MATCH}")
    elif own_dev and device != own_dev:
        warn(f"--device {device} differs from the run's {own_dev}: {NO_MATCH}")
    if "native_bf16" in saved and _available(dev) and _native_bf16(dev) != saved["native_bf16"]:
        warn(f"native bfloat16 is {'missing' if saved['native_bf16'] else 'present'} here, so amp 'auto' resolves differently: {NO_MATCH}")
    if saved.get("torch") and saved["torch"] != torch.__version__:
        warn(f"the run was started with PyTorch {saved['torch']}, this is {torch.__version__}: {NO_MATCH}")
    return dev


def _native_bf16(device: str) -> bool:
    from ..precision import fast_bf16

    return fast_bf16(device)


def _available(device: str) -> bool:
    if device.startswith("cuda"):
        return torch.cuda.is_available()
    return device in ("cpu", "mps") and (device == "cpu" or torch.backends.mps.is_available())


def is_main_process() -> bool:
    """Whether this is rank 0 (or not under torchrun): the process that prints warnings."""
    return os.environ.get("RANK", "0") == "0"
