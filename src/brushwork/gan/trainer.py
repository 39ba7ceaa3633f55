"""The GAN trainer on :class:`~brushwork.training.trainer.TrainerProtocol`: build, step, state,
restore, save and the periodic work (diagnostics, FID, sample grids, the metric log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..training.distributed import DistInfo
from ..training.loop import Callback, every, seed_everything
from ..training.metrics_log import MetricsLog
from .checkpoints import _state_objects, restore, save, save_model
from .config import GANConfig
from .diagnostics import COLLAPSE_THRESHOLD
from .parts import Position, build_parts, load_data
from .previews import diagnose, sampling_model, write_samples
from .step import train_step


class GANTrainer:
    """One GAN run in ``run_dir``: the parts, where training stands, and its hooks."""

    desc = "gan train"

    def __init__(self, cfg: GANConfig, run_dir: Path, device: torch.device, dist: DistInfo, emit: Callback) -> None:
        seed_everything(cfg.train.seed)
        self.cfg, self.run_dir, self.dist, self.emit = cfg, run_dir, dist, emit
        self.data = load_data(cfg)
        self.p = build_parts(cfg, self.data, device, dist)
        self.pos = Position()
        self.log: MetricsLog | None = None
        self.fid = None
        if cfg.train.amp and not self.p.amp:
            emit("warning", {"message": f"train.amp (bfloat16 autocast) needs native bfloat16 (a CUDA GPU, or a CPU with AMX / AVX-512 BF16), which {device} lacks; training in float32"})

    def begin(self, resumed: bool) -> None:
        """The FID hook and ``metrics.jsonl`` (rank 0), the log trimmed to the restored step when resuming."""
        if self.dist.is_main:
            self.fid = _fid_hook(self.cfg, self.run_dir, self.p.device)
            self.log = MetricsLog(self.run_dir, resume_step=self.pos.step if resumed else None)
            if self.log.note:
                self.emit("warning", {"message": self.log.note})

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def restore(self, checkpoint: Path) -> int:
        self.pos = restore(self.p, checkpoint)
        return self.pos.step

    def step(self, _: int) -> dict[str, float]:
        out = train_step(self.cfg, self.p, self.pos)
        self.pos.step += 1
        return out

    def state(self) -> tuple:
        return _state_objects(self.p)

    def save(self, _: int, metrics: dict[str, Any]) -> Path:
        path = save(self.cfg, self.p, self.pos, self.run_dir, metrics)
        save_model(self.cfg, self.p, self.pos, self.run_dir, metrics)
        self.emit("checkpoint", {"path": str(path), "step": self.pos.step})
        return path

    def periodic(self, _: int, out: dict[str, float]) -> dict[str, Any]:
        """Diagnostics, FID, sample grids and the metric log at their intervals (rank 0)."""
        cfg, p, step, extra = self.cfg, self.p, self.pos.step, {}
        t = cfg.train
        if self.fid is not None and (every(step, t.fid_every) or step == t.steps):
            extra.update(self.fid(sampling_model(p), step))
        if every(step, t.diag_every) or step == t.steps:
            extra.update(diagnose(cfg, p))
            div = extra.get("diversity")
            if div is not None and div < COLLAPSE_THRESHOLD:
                message = f"step {step}: sample diversity {div:.3f} is below {COLLAPSE_THRESHOLD} of the data's: the generator may be collapsing"
                self.emit("warning", {"message": message, "step": step})
        if every(step, t.sample_every) or step == t.steps:
            self.emit("sample", {"path": str(write_samples(cfg, p, step, self.run_dir)), "step": step})
        if self.log is not None and (every(step, t.log_every) or extra):
            self.log.log(step, {**out, **extra, "lr_g": p.opt_g.param_groups[0]["lr"]})
            self.emit("log", {"step": step, **extra})
        return extra


def _fid_hook(cfg: GANConfig, run_dir: Path, device: torch.device):
    if not cfg.train.fid_every:
        return None
    from .fid_hook import FIDHook

    return FIDHook(cfg, run_dir, device)
