"""GANs: models, losses, the training loop, sampling, export and mode-collapse metrics.

Load a trained run and sample from it::

    from brushwork.gan.sample import load_generator, sample, interpolate
    gen = load_generator("runs/00000-dcgan-digits")   # EMA weights when the run kept them
    images = sample(gen, 64, seed=0)                   # (64, C, H, W) floats in [0, 1]
    frames = interpolate(gen, 8, seed=1)               # spherical path, (8, C, H, W)

Train from Python::

    from brushwork.gan import resolve_config, train_gan
    from brushwork.training.runs import create_run
    cfg = resolve_config(preset="dcgan-digits", overrides=[{"train": {"steps": 500}}])
    run = create_run("runs", name=None, tag=cfg.name, kind="gan", options={"config": cfg.to_dict()})
    result = train_gan(cfg, run)                       # TrainResult(run_dir, step, checkpoint, metrics, ...)
"""

from __future__ import annotations

__all__ = ["load_generator", "interpolate", "LoadedGenerator", "resolve_config", "GANConfig", "train_gan", "export_onnx"]

_WHERE = {  # name -> (submodule, attribute); `train` and `sample` are submodules, so the
    # training loop is exported as `train_gan` and sampling is `brushwork.gan.sample.sample`
    "load_generator": ("sample", "load_generator"),
    "interpolate": ("sample", "interpolate"),
    "LoadedGenerator": ("sample", "LoadedGenerator"),
    "resolve_config": ("config", "resolve_config"),
    "GANConfig": ("config", "GANConfig"),
    "train_gan": ("train", "train"),
    "export_onnx": ("export", "export_onnx"),
}


def __getattr__(name: str):
    # Submodules import torch; load them on first use.
    if name in _WHERE:
        import importlib

        module, attr = _WHERE[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'brushwork.gan' has no attribute {name!r}")
