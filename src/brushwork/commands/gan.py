"""`brushwork gan ...`: train, sample, interpolate and export GANs.

The commands only parse options and report; the work is in :mod:`brushwork.gan`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import BrushworkError
from ..gan.config import TrainConfig
from .common import device_option, emit_json, json_option, onnx_options, quiet_option, report_training, reserve_output, resolve_device, show_progress
from .options import flag_errors, overrides_from, pop_overrides, threads_option

SAMPLE_FLAGS = {"n": "-n", "truncation": "--truncation", "mix_layer": "--mix-layer"}
"""The sampling library's parameter names -> the flags of ``gan sample``."""
INTERPOLATE_FLAGS = {"steps": "--steps", "truncation": "--truncation"}
"""The same for ``gan interpolate``."""

RESUME_CHANGEABLE = {"steps", "log_every", "sample_every", "diag_every", "ckpt_every", "keep_checkpoints"}
"""``train.*`` keys that may change when resuming; anything else would break exact resume."""



@click.group()
def gan() -> None:
    """Generative adversarial networks: train, sample, interpolate, export."""


def _overrides(sets: tuple[str, ...], direct: dict[str, Any], data: str | None) -> list[dict[str, Any]]:
    from ..gan.config import parse_override

    out = [parse_override(s) for s in sets] + pop_overrides(TrainConfig, direct, "train")
    if data is not None:
        out.append({"data": {"dataset": "folder", "path": data}} if data not in ("digits", "ring", "grid") else {"data": {"dataset": data}})
    return out


def _resume_config(run: str, overrides: list[dict[str, Any]]):
    """The config to resume ``run`` with: its newest intact checkpoint's (or, killed before
    the first one, its ``run.json``'s), with the allowed ``overrides``."""
    from ..gan.config import merge_dicts, config_from_dict
    from ..training.checkpoint import resume_checkpoint, verify_checkpoint
    from ..training.runs import read_run

    record = read_run(run, kind="gan")
    last = resume_checkpoint(run, warn)
    data = verify_checkpoint(last)[1].get("config") if last is not None else record["options"].get("config")
    if not isinstance(data, dict):
        raise BrushworkError(f"{run}: {'checkpoint' if last else 'run.json'} holds no config")
    for o in overrides:
        for section, values in o.items():
            bad = [k for k in values if section != "train" or k not in RESUME_CHANGEABLE]
            if bad:
                raise BrushworkError(f"cannot change {section}.{bad[0]} when resuming (only train.{', train.'.join(sorted(RESUME_CHANGEABLE))})")
        data = merge_dicts(data, o)
    return config_from_dict(data)


def warn(message: str) -> None:
    """One ``brushwork: warning: ...`` line on stderr (rank 0 only under torchrun)."""
    from ..training.runtime import is_main_process

    if is_main_process():
        click.echo(f"brushwork: warning: {message}", err=True)


@gan.command()
@click.option("--preset", help="Named preset: mlp-digits, dcgan-digits, wgan-gp-grid, sngan-folder, gan-ring, gan-grid, pacgan-ring, pacgan-grid.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML or YAML config (may name a preset to start from).")
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Override one config value, e.g. --set train.lr_g=1e-4 (repeatable).")
@overrides_from(TrainConfig, only=("steps", "batch_size"))
@click.option("--data", help="Training data: digits, ring, grid, or a folder / .zip of images.")
@overrides_from(TrainConfig, only=("seed",))
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False), help="Folder that holds numbered run folders.")
@click.option("--name", help="Run folder name under --out (default: next number + preset).")
@click.option("--resume", "resume_run", type=click.Path(), help="Continue this run folder exactly where its newest checkpoint stopped.")
@device_option
@threads_option
@quiet_option
@json_option
def train(preset, config_file, sets, data, out, name, resume_run, device, threads, quiet, as_json, **direct) -> None:
    """Train a GAN; checkpoints, samples and metrics go to a run folder.

    Under `torchrun --nproc_per_node=N -m brushwork gan train ...` it trains data-parallel
    (gloo on CPU, NCCL on CUDA), equal to one process with the same global batch.
    """
    from ..gan.config import resolve_config
    from ..gan.parts import preflight
    from ..gan.train import Interrupted
    from ..gan.train import train as run_training
    from ..training import distributed, runtime
    from ..training.runs import create_run, read_run

    overrides = _overrides(sets, direct, data)
    if resume_run:
        if preset or config_file or name:
            raise BrushworkError("--resume takes the run's own config; drop --preset/--config/--name")
        cfg = _resume_config(resume_run, overrides)
        device = runtime.restore(read_run(resume_run)["options"].get("runtime"), threads=threads, device=device, warn=warn)
        dev = resolve_device(device)
    else:
        dev = resolve_device(device)
        cfg = resolve_config(preset=preset, file=config_file, overrides=overrides)
        run_env = runtime.capture(threads, dev)
    preflight(cfg)
    dist = distributed.setup(dev)
    finished = False
    try:
        if resume_run:
            run_dir = Path(resume_run)
        else:
            made = create_run(out, name=name, tag=cfg.name, kind="gan", options={"config": cfg.to_dict(), "device": dev, "processes": dist.world, "runtime": run_env}) if dist.is_main else None
            run_dir = Path(distributed.broadcast_object(str(made) if made else None, dist))
        bar = show_progress(quiet, as_json)
        note = (lambda e, d: click.echo(f"brushwork: warning: {d['message']}", err=True)) if not quiet else None
        try:
            result = run_training(cfg, run_dir, resume=bool(resume_run), device=dev, dist=dist, show_progress=bar, callback=_warnings_only(note))
        except Interrupted as exc:
            click.echo(f"brushwork: {exc}", err=True)
            raise
        except BrushworkError:
            if not resume_run and dist.is_main:
                from ..training.runs import discard_failed_start

                discard_failed_start(run_dir)  # a start that failed before its first checkpoint leaves nothing behind
            raise
        finished = True
    finally:
        distributed.teardown(dist, synchronize=finished)
    if not dist.is_main:
        return
    report_training(result, {"run": str(run_dir)}, str(run_dir), quiet=quiet, as_json=as_json, skipped_images=result.skipped_images)


def _warnings_only(note):
    if note is None:
        return None
    return lambda event, data: note(event, data) if event == "warning" else None


def _load(run: str, ema: bool | None, device: str):
    from ..gan.sample import load_generator

    return load_generator(run, ema=ema, device=resolve_device(device))


ema_option = click.option("--ema/--no-ema", default=None, help="EMA weights (default: when the run kept them; a model folder holds one set).")


@gan.command()
@click.argument("run", type=click.Path())
@click.option("-n", "count", type=int, default=64, show_default=True, help="Number of samples.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Grid image (.png, .jpg, ...).")
@ema_option
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--truncation", type=float, help="Truncation trick: redraw noise values beyond +-T; for StyleGAN2, psi in W space (1 = none, 0 = the average image).")
@click.option("--class", "class_id", type=int, help="Class of a conditional generator.")
@click.option("--nrow", type=int, help="Images per grid row (default: square).")
@click.option("--mix", "mix_seeds", type=int, nargs=2, metavar="SEED_A SEED_B", help="StyleGAN2 style mixing: save A, B, and A's coarse styles with B's fine ones (ignores -n and --seed).")
@click.option("--mix-layer", type=int, default=None, help="With --mix: first layer whose style comes from SEED_B (default: half the layers).")
@click.option("--rejection", is_flag=True, help="Discriminator rejection sampling (Azadi et al. 2019): drop samples the run's discriminator finds unrealistic.")
@click.option("--rejection-quantile", type=float, default=None, help="With --rejection: quantile of the acceptance score used as DRS's gamma (default 0.95; higher keeps fewer).")
@click.option("--rejection-calibrate", type=int, default=None, help="With --rejection: steps of fine-tuning a copy of the discriminator on the training data first (default 500; 0 = as saved).")
@device_option
@json_option
def sample(run, count, output, ema, seed, truncation, class_id, nrow, mix_seeds, mix_layer, rejection, rejection_quantile, rejection_calibrate, device, as_json) -> None:
    """Sample a grid of images (or a scatter plot of 2-D points) from a run's generator (RUN: a run folder or a model folder such as RUN/model)."""
    reserve_output(output)  # an unwritable output fails now, not after the work
    with flag_errors(extra=SAMPLE_FLAGS):
        _sample(run, count, output, ema, seed, truncation, class_id, nrow, mix_seeds, mix_layer, rejection, rejection_quantile, rejection_calibrate,
                device, as_json)


def _sample(run, count, output, ema, seed, truncation, class_id, nrow, mix_seeds, mix_layer, rejection, rejection_quantile, rejection_calibrate,
            device, as_json) -> None:
    from ..gan.sample import mix
    from ..gan.sample import sample as draw
    from ..imagegrid import save_grid, scatter_image
    from ..imageio import save_image

    if mix_layer is not None and not mix_seeds:
        raise BrushworkError("--mix-layer needs --mix SEED_A SEED_B")
    if rejection and (truncation is not None or class_id is not None or mix_seeds):
        raise BrushworkError("--rejection takes no --truncation, --class or --mix")
    if (rejection_quantile is not None or rejection_calibrate is not None) and not rejection:
        raise BrushworkError("--rejection-quantile and --rejection-calibrate need --rejection")
    gen = _load(run, ema, device)
    if mix_seeds:
        layer = mix_layer if mix_layer is not None else getattr(gen.G, "num_ws", 0) // 2
        save_grid(mix(gen, *mix_seeds, layer=layer, truncation=truncation, class_id=class_id), output, nrow=3)
        if as_json:
            emit_json({"output": output, "mix": list(mix_seeds), "mix_layer": layer, "step": gen.step, "ema": gen.ema})
        return
    extra = {}
    if rejection:
        from ..gan.rejection import DEFAULT_CALIBRATE_STEPS, DEFAULT_QUANTILE, rejection_sample

        q = DEFAULT_QUANTILE if rejection_quantile is None else rejection_quantile
        cal = DEFAULT_CALIBRATE_STEPS if rejection_calibrate is None else rejection_calibrate
        drs = rejection_sample(gen, count, seed=seed, quantile=q, calibrate_steps=cal)
        out, extra = drs.samples, {"rejection": {"quantile": q, "calibrate_steps": cal, "acceptance": drs.acceptance, "drawn": drs.drawn}}
    else:
        out = draw(gen, count, seed=seed, truncation=truncation, class_id=class_id)
    if gen.is_image:
        save_grid(out, output, nrow=nrow)
    else:
        save_image(scatter_image(out, float(out.abs().max()) * 1.1 + 1e-6), output)
    if as_json:
        emit_json({"output": output, "count": count, "step": gen.step, "ema": gen.ema, "seed": seed, **extra})


@gan.command()
@click.argument("run", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="A strip image (.png ...) or an animated .gif.")
@click.option("--steps", type=int, default=8, show_default=True, help="Frames along the path.")
@ema_option
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--truncation", type=float)
@click.option("--class", "class_id", type=int)
@device_option
@json_option
def interpolate(run, output, steps, ema, seed, truncation, class_id, device, as_json) -> None:
    """Spherical interpolation between two seeded noise vectors, as a strip or a GIF (RUN: a run or model folder)."""
    reserve_output(output)  # an unwritable output fails now, not after the work
    from ..gan.sample import interpolate as path
    from ..imagegrid import save_gif, save_grid

    gen = _load(run, ema, device)
    if not gen.is_image:
        raise BrushworkError(f"{run}: interpolation needs an image generator")
    with flag_errors(extra=INTERPOLATE_FLAGS):
        frames = path(gen, steps, seed=seed, truncation=truncation, class_id=class_id)
    if output.lower().endswith(".gif"):
        save_gif(frames, output)
    else:
        save_grid(frames, output, nrow=steps)
    if as_json:
        emit_json({"output": output, "frames": steps, "step": gen.step})


@gan.command()
@click.argument("run", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="ONNX file to write.")
@ema_option
@onnx_options
@json_option
def export(run, output, ema, opset, check, as_json) -> None:
    """Export the generator of a run or model folder to ONNX (input z [and y], output images in [0, 1])."""
    reserve_output(output)  # an unwritable output fails now, not after the work
    from ..gan.export import export_onnx

    gen = _load(run, ema, "cpu")
    result = export_onnx(gen, output, opset=opset, check=check)
    if as_json:
        emit_json(result)
    else:
        diff = result["max_abs_diff"]
        click.echo(f"wrote {output}" + (f" (onnxruntime matches PyTorch within {diff:.1e})" if diff is not None else ""), err=False)
