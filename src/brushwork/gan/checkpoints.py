"""GAN checkpoints: what one holds, writing it and the run's model folder, and restoring it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..errors import BrushworkError
from ..training import checkpoint as ckpt
from .config import GANConfig
from .parts import GANParts, Position


def _state_objects(p: GANParts) -> tuple[dict[str, nn.Module], dict[str, torch.optim.Optimizer], dict[str, torch.Generator]]:
    """The models, optimisers and generators a checkpoint holds, by name."""
    modules: dict[str, nn.Module] = {"G": p.G, "D": p.D}
    if p.ema is not None:
        modules["G_ema"] = p.ema.shadow
    return modules, {"opt_g": p.opt_g, "opt_d": p.opt_d}, {"train": p.gen}


def save(cfg: GANConfig, p: GANParts, pos: Position, run_dir: Path, metrics: dict[str, Any]) -> Path:
    """Write a checkpoint for ``pos`` (rank 0 only writes; callers check)."""
    tensors, state = ckpt.pack_state(*_state_objects(p))
    state.update(
        batches=pos.batches,
        config=cfg.to_dict(),
        sample_shape=list(p.data.sample_shape),
        num_classes=p.data.num_classes if cfg.model.conditional else 0,
        has_ema=p.ema is not None,
        metrics=metrics,
        ada=p.ada.state_dict() if p.ada is not None else None,
        pl_mean=p.pl.mean if p.pl is not None else None,
    )
    return ckpt.save_checkpoint(run_dir, pos.step, tensors, state, keep=cfg.train.keep_checkpoints)


def save_model(cfg: GANConfig, p: GANParts, pos: Position, run_dir: Path, metrics: dict[str, Any]) -> Path:
    """Write the run's model folder ``RUN/model`` (hub kind ``gan-generator``) through the hub:
    the EMA generator when the run keeps one, else G; replaced whole at every checkpoint."""
    from ..models import save_pretrained
    from .sample import MODEL_DIR, LoadedGenerator

    has_ema = p.ema is not None
    G = p.ema.shadow if has_ema else p.G
    gen = LoadedGenerator(G, cfg, pos.step, has_ema, run_dir, tuple(p.data.sample_shape))
    prov = {"how": "trained with brushwork gan train", "source": run_dir.name, "step": pos.step, "ema": has_ema, "metrics": metrics}
    return save_pretrained(gen, run_dir / MODEL_DIR, provenance=prov)


def restore(p: GANParts, json_path: Path) -> Position:
    """Load a checkpoint into ``p``; returns the position it was taken at."""
    state = ckpt.unpack_state(json_path, *_state_objects(p))
    if p.ada is not None and state.get("ada"):
        p.ada.load_state_dict(state["ada"])
    if p.pl is not None and state.get("pl_mean") is not None:
        p.pl.mean = float(state["pl_mean"])
    batches = state.get("batches")
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 0:
        raise BrushworkError(f"{json_path}: corrupted checkpoint state (batches must be a whole number >= 0, not {batches!r:.40})")
    return Position(state["step"], batches)
