"""Atomic checkpoints that are never unpickled: tensors in safetensors, the rest in JSON.

A checkpoint at step ``S`` is two files in ``<run>/checkpoints/``:

* ``step-SSSSSSSS.safetensors``: model weights, optimiser tensors (``<opt>.<param>.<key>``),
  RNG states as uint8 tensors (``rng.*``);
* ``step-SSSSSSSS.json``: the step, the SHA-256 of the tensor file, optimiser
  hyper-parameters and non-tensor state, Python and NumPy RNG states, and whatever else
  the trainer needs to continue exactly.

Both are written through temporary files and renamed; the JSON goes last, so a checkpoint
exists only once it is complete, and a torn or edited tensor file is caught by its hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import BrushworkError
from ..fsutil import atomic_path, atomic_write_text

FORMAT = 1
_NAME = re.compile(r"step-(\d{8})\.json$")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checkpoint_dir(run_dir: str | os.PathLike) -> Path:
    """``<run>/checkpoints``."""
    return Path(run_dir) / "checkpoints"


def list_checkpoints(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, json path)`` of every checkpoint in a run, oldest first."""
    d = checkpoint_dir(run_dir)
    found = [(int(m.group(1)), p) for p in (d.iterdir() if d.is_dir() else []) if (m := _NAME.match(p.name))]
    return sorted(found)


def save_checkpoint(run_dir: str | os.PathLike, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any], *, keep: int = 2) -> Path:
    """Write checkpoint ``step`` atomically, then delete all but the newest ``keep``. Returns the JSON path.

    A failed write (full disk: :class:`~brushwork.fsutil.OutputError`) leaves the older
    checkpoints as they were, so the run resumes from the last one once there is space.
    """
    d = checkpoint_dir(run_dir)
    stem = f"step-{step:08d}"
    flat = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(d / f"{stem}.safetensors") as tmp:
        save_file(flat, str(tmp))
        digest = _sha256(tmp)
    record = {"format": FORMAT, "step": step, "tensors": f"{stem}.safetensors", "sha256": digest, **state}
    json_path = d / f"{stem}.json"
    try:
        atomic_write_text(json_path, json.dumps(record, indent=1) + "\n")
    except BaseException:
        (d / f"{stem}.safetensors").unlink(missing_ok=True)  # no tensor file without its JSON; older checkpoints stay
        raise
    for _, old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
        (d / old.name.replace(".json", ".safetensors")).unlink(missing_ok=True)
    return json_path


def verify_checkpoint(json_path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """Check one checkpoint without loading its tensors: ``(tensor path, state)``; BrushworkError if corrupted."""
    p = Path(json_path)
    try:
        state = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BrushworkError(f"{p}: corrupted checkpoint state ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or not isinstance(state.get("tensors"), str):
        raise BrushworkError(f"{p}: not a Brushwork checkpoint (format {FORMAT})")
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < 10**12:
        raise BrushworkError(f"{p}: corrupted checkpoint state (step must be a whole number >= 0, not {step!r:.40})")
    tpath = p.parent / Path(state["tensors"]).name
    if not tpath.is_file():
        raise BrushworkError(f"{tpath}: checkpoint tensors are missing")
    if _sha256(tpath) != state.get("sha256"):
        raise BrushworkError(f"{tpath}: corrupted checkpoint (SHA-256 does not match its {p.name})")
    return tpath, state


def load_checkpoint(json_path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify one checkpoint: ``(tensors, state)``; BrushworkError if corrupted."""
    tpath, state = verify_checkpoint(json_path)
    try:
        tensors = load_file(str(tpath))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BrushworkError(f"{tpath}: unreadable checkpoint ({exc})") from None
    return tensors, state


def latest_checkpoint(run_dir: str | os.PathLike) -> Path:
    """JSON path of the newest checkpoint; BrushworkError when the run has none."""
    found = list_checkpoints(run_dir)
    if not found:
        raise BrushworkError(f"{run_dir}: run has no checkpoint yet")
    return found[-1][1]


def resume_checkpoint(run_dir: str | os.PathLike, warn: Callable[[str], None]) -> Path | None:
    """The checkpoint ``--resume`` continues from: the newest intact one, or None when the run
    has none yet (it then starts again from step 0 with its saved options).

    A corrupted newer checkpoint is renamed ``*.corrupt`` (kept for inspection, out of the
    way of later saves) and ``warn`` gets one line naming it and the older one used instead.
    BrushworkError when checkpoints exist but none is intact.
    """
    found = list_checkpoints(run_dir)
    bad: list[tuple[Path, str]] = []
    for step, path in reversed(found):
        try:
            verify_checkpoint(path)
        except BrushworkError as exc:
            bad.append((path, str(exc).split(": ", 1)[-1]))
            continue
        for old, reason in bad:
            for f in (old, old.with_suffix(".safetensors")):
                if f.exists():
                    f.replace(f.with_name(f.name + ".corrupt"))
            warn(f"{old.name}: {reason}; resuming from the intact step-{step:08d} checkpoint instead (the corrupted one is renamed *.corrupt)")
        return path
    if bad:
        raise BrushworkError(f"{run_dir}: no intact checkpoint to resume from (newest: {bad[0][1]})")
    return None


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``{k: v}`` -> ``{f"{prefix}.{k}": v}``."""
    return {f"{prefix}.{k}": v for k, v in tensors.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Entries of ``tensors`` under ``prefix.``, with the prefix removed."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def optimizer_to_flat(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``opt.state_dict()`` into tensors ``{prefix.<param>.<key>}`` and JSON-able metadata."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_flat(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any], prefix: str) -> None:
    """Inverse of :func:`optimizer_to_flat`: load the state into ``opt``."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in unprefixed(prefix, tensors).items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value.clone()  # never share storage with the source
    for pid, extra in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(extra)
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in meta["param_groups"]]
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_to_flat(generators: dict[str, torch.Generator] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every RNG state: torch CPU (+ CUDA) and named generators as tensors; Python and NumPy as JSON."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    for name, g in (generators or {}).items():
        tensors[f"rng.gen.{name}"] = g.get_state()
    version, internal, gauss = random.getstate()
    np_name, keys, pos, has_gauss, cached = np.random.get_state()
    meta = {"python": [version, list(internal), gauss], "numpy": [np_name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    return tensors, meta


def rng_from_flat(tensors: dict[str, torch.Tensor], meta: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    """Restore what :func:`rng_to_flat` saved (CUDA states only where CUDA is in use)."""
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    for name, g in (generators or {}).items():
        g.set_state(tensors[f"rng.gen.{name}"])
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    np_name, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((np_name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def pack_state(
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    generators: dict[str, torch.Generator] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Everything a trainer needs to continue exactly, as ``(tensors, json state)``:
    each module's state dict under its name, each optimiser's state, and every RNG
    (global ones plus the named ``generators``). Feed both to :func:`save_checkpoint`."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        tensors.update(prefixed(name, module.state_dict()))
    optim: dict[str, Any] = {}
    for name, opt in optimizers.items():
        t, optim[name] = optimizer_to_flat(opt, name)
        tensors.update(t)
    t, rng = rng_to_flat(generators)
    tensors.update(t)
    return tensors, {"optim": optim, "rng": rng}


def unpack_state(
    json_path: str | os.PathLike,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    generators: dict[str, torch.Generator] | None = None,
) -> dict[str, Any]:
    """Load a checkpoint written from :func:`pack_state` into the same-named objects and
    restore every RNG; returns the JSON state. BrushworkError when it does not fit."""
    tensors, state = load_checkpoint(json_path)
    try:
        for name, module in modules.items():
            module.load_state_dict(unprefixed(name, tensors))
        for name, opt in optimizers.items():
            optimizer_from_flat(opt, tensors, state["optim"][name], name)
        rng_from_flat(tensors, state["rng"], generators)
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BrushworkError(f"{json_path}: checkpoint does not fit this run's models ({first[:200]})") from None
    return state
