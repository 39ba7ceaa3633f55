"""`brushwork train gan|translate|fast|adain`: one entry for every trainer.

Each subcommand resolves its config from a named preset (``presets/<trainer>/<name>.toml``),
then a ``--config`` file, then ``--set key=value`` overrides (``section.key=value`` for GAN),
validates it, and either prints it (``--dry-run``) or runs the same training function as
``gan train``, ``translate train``, ``style train-fast`` and ``style train-adain``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import BrushworkError
from .common import device_option, emit_json, json_option, quiet_option, report_training, resolve_device, show_progress
from .options import option_group, threads_option

TRAINERS = ("gan", "translate", "fast", "adain")
DEFAULT_PRESET = {"gan": None, "translate": "cyclegan-default", "fast": "default", "adain": "default"}


@click.group()
def train() -> None:
    """Train any model from a preset, a config file and --set overrides."""


_common = option_group(
    click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML, YAML or JSON config (may name a preset to start from)."),
    click.option("--preset", help="Named preset (see `brushwork train presets`)."),
    click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override one config value (repeatable)."),
    click.option("--out", type=click.Path(file_okay=False), help="The run (or model) folder to create, or to continue with --resume."),
    click.option("--resume", is_flag=True, help="Continue the run in --out where its newest checkpoint stopped."),
    click.option("--dry-run", is_flag=True, help="Print the resolved, validated config and stop."),
    threads_option, device_option, quiet_option, json_option,
)


@train.command("presets")
@click.argument("trainer", required=False, type=click.Choice(TRAINERS))
@json_option
def presets(trainer: str | None, as_json: bool) -> None:
    """List the named presets of every trainer (or of one)."""
    from ..config import preset_names

    found = {t: preset_names(t) for t in ([trainer] if trainer else TRAINERS)}
    if as_json:
        emit_json(found)
        return
    for t, names in found.items():
        click.echo(f"{t}: {', '.join(names)}")


def overrides(sets: tuple[str, ...], depth: int | None) -> list[dict[str, Any]]:
    """The ``--set`` values as nested dicts (``depth`` dotted parts each)."""
    from ..config import parse_override

    return [parse_override(s, depth=depth) for s in sets]


def show_config(trainer: str, cfg: Any, as_json: bool) -> None:
    """The resolved config on stdout: one JSON object with ``--json``, else indented JSON."""
    record = {"trainer": trainer, "config": cfg.to_dict()}
    if as_json:
        emit_json(record)
    else:
        click.echo(json.dumps(record, indent=2, sort_keys=False))


def _need_out(out: str | None) -> Path:
    if not out:
        raise BrushworkError("--out is required (the run folder to write)")
    return Path(out)


def _warn(message: str) -> None:
    click.echo(f"brushwork: warning: {message}", err=True)


def _note(quiet: bool):
    return None if quiet else (lambda e, d: _warn(d["message"]) if e == "warning" else None)


def _report(trainer: str, out: Any, result: Any, as_json: bool, quiet: bool) -> None:
    report_training(result, {"trainer": trainer, "run": str(out)}, f"{trainer} in {out}", quiet=quiet, as_json=as_json)


def _interrupted(exc: BaseException) -> None:
    click.echo(f"brushwork: {exc}", err=True)


# --------------------------------------------------------------------------- gan


@train.command("gan")
@_common
def train_gan(config_file, preset, sets, out, resume, dry_run, threads, device, quiet, as_json) -> None:
    """Train a GAN (same run as `brushwork gan train`)."""
    from ..gan.config import resolve_config

    over = overrides(sets, depth=2)
    if resume:
        if preset or config_file:
            raise BrushworkError("--resume takes the run's own config; drop --preset/--config")
        from .gan import _resume_config

        cfg = _resume_config(str(_need_out(out)), over)
    else:
        cfg = resolve_config(preset=preset, file=config_file, overrides=over)
    if dry_run:
        show_config("gan", cfg, as_json)
        return
    _run_gan(cfg, _need_out(out), resume, device, threads, quiet, as_json)


def _run_gan(cfg, out: Path, resume: bool, device: str, threads: int, quiet: bool, as_json: bool) -> None:
    """Under ``torchrun`` data-parallel, as ``gan train``; rank 0 writes the run and reports."""
    from ..gan.parts import preflight
    from ..training import distributed, runtime
    from ..training.runs import create_run, read_run

    if resume:
        dev = resolve_device(runtime.restore(read_run(out)["options"].get("runtime"), threads=threads, device=device, warn=_warn))
    else:
        dev = resolve_device(device)
    preflight(cfg)
    dist = distributed.setup(dev)
    finished = False
    try:
        if not resume:
            options = {"config": cfg.to_dict(), "device": dev, "processes": dist.world, "runtime": runtime.capture(threads, dev)}
            made = create_run(out.parent, name=out.name, tag=cfg.name, kind="gan", options=options) if dist.is_main else None
            out = Path(distributed.broadcast_object(str(made) if made else None, dist))
        result = _gan_steps(cfg, out, resume, dev, dist, quiet, as_json)
        finished = True
    finally:
        distributed.teardown(dist, synchronize=finished)
    if dist.is_main:
        _report("gan", out, result, as_json, quiet)


def _gan_steps(cfg, out: Path, resume: bool, dev: str, dist, quiet: bool, as_json: bool):
    from ..gan.train import Interrupted
    from ..gan.train import train as run_gan
    from ..training.runs import discard_failed_start

    try:
        return run_gan(cfg, out, resume=resume, device=dev, dist=dist, show_progress=show_progress(quiet, as_json), callback=_note(quiet))
    except Interrupted as exc:
        _interrupted(exc)
        raise
    except BrushworkError:
        if not resume and dist.is_main:
            discard_failed_start(out)
        raise


# --------------------------------------------------------------------------- fast / adain


def _ff_command(kind: str) -> click.Command:
    @_common
    def command(config_file, preset, sets, out, resume, dry_run, threads, device, quiet, as_json) -> None:
        from ..config import resolve
        from ..style.ff_train import FFTrainConfig, load_run_config

        over = overrides(sets, depth=1)
        if resume:
            steps = _resume_steps(over, kind)
            cfg = load_run_config(_need_out(out), kind, steps=steps)
        else:
            base = {"kind": kind, "content": "", "style": ""}
            cfg = resolve(FFTrainConfig, kind, preset=preset or (None if config_file else DEFAULT_PRESET[kind]), file=config_file, overrides=over, base=base)
            if cfg.kind != kind:
                raise BrushworkError(f"config: kind must be {kind} for `brushwork train {kind}`, not {cfg.kind!r}")
        if dry_run:
            show_config(kind, cfg, as_json)
            return
        _run_ff(cfg, _need_out(out), resume, device, threads, quiet, as_json)

    command.__doc__ = f"Train {'a fast per-style network' if kind == 'fast' else 'an AdaIN decoder'} (same run as `brushwork style train-{kind}`)."
    return train.command(kind)(command)


def _resume_steps(over: list[dict[str, Any]], what: str) -> int | None:
    """A resumed run keeps its config; only ``steps`` may change."""
    steps = None
    for o in over:
        bad = [k for k in o if k != "steps"]
        if bad:
            raise BrushworkError(f"cannot change {bad[0]} when resuming a {what} run (only steps)")
        steps = o["steps"]
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)):
        raise BrushworkError(f"steps must be a whole number, not {steps!r:.40}")
    return steps


def _run_ff(cfg, out: Path, resume: bool, device: str, threads: int, quiet: bool, as_json: bool) -> None:
    from ..style.ff_train import Interrupted, run_dir_of, start
    from ..style.ff_train import train as run_ff
    from ..training import runtime
    from ..training.runs import discard_failed_start, read_run

    if resume:
        dev = resolve_device(runtime.restore(read_run(run_dir_of(out))["options"].get("runtime"), threads=threads, device=device, warn=_warn))
    else:
        if not cfg.content or not cfg.style:
            raise BrushworkError("content and style are required (--set content=DIR --set style=PATH, or in the config file)")
        dev = resolve_device(device)
        start(cfg, out, runtime=runtime.capture(threads, dev))
    try:
        result = run_ff(cfg, out, resume=resume, device=dev, show_progress=show_progress(quiet, as_json), callback=_note(quiet))
    except Interrupted as exc:
        _interrupted(exc)
        raise
    except BrushworkError:
        if not resume:
            discard_failed_start(run_dir_of(out))
        raise
    _report(cfg.kind, out, result, as_json, quiet)


train_fast = _ff_command("fast")
train_adain = _ff_command("adain")


# --------------------------------------------------------------------------- translate


@train.command("translate")
@_common
@click.option("--a", "dir_a", type=click.Path(), help="Domain A: a folder (or .zip) of images; for pix2pix alone, side-by-side A|B images.")
@click.option("--b", "dir_b", type=click.Path(), help="Domain B: a folder (or .zip) of images.")
def train_translate(config_file, preset, sets, out, resume, dry_run, threads, device, quiet, as_json, dir_a, dir_b) -> None:
    """Train CycleGAN or pix2pix (same run as `brushwork translate train`)."""
    from ..config import resolve
    from ..translate.config import TranslateConfig

    over = overrides(sets, depth=1)
    options: dict[str, Any] = {}
    if resume:
        from .translate import _resume_config

        cfg, options = _resume_config(_need_out(out), None, _resume_steps(over, "translation"))
    else:
        cfg = resolve(TranslateConfig, "translate", preset=preset or (None if config_file else DEFAULT_PRESET["translate"]), file=config_file, overrides=over)
    if dry_run:
        show_config("translate", cfg, as_json)
        return
    dir_a, dir_b = dir_a or options.get("a"), dir_b or options.get("b")
    if not dir_a:
        raise BrushworkError("--a is required (a folder of domain-A images)")
    _run_translate(cfg, _need_out(out), dir_a, dir_b, resume, options, device, threads, quiet, as_json)


def _run_translate(cfg, out: Path, dir_a: str, dir_b: str | None, resume: bool, options: dict[str, Any], device: str, threads: int,
                   quiet: bool, as_json: bool) -> None:
    from ..training import runtime
    from ..training.loop import Interrupted
    from ..training.runs import create_run, discard_failed_start
    from ..translate.train import load_data
    from ..translate.train import train as run_translate

    if resume:
        dev = resolve_device(runtime.restore(options.get("runtime"), threads=threads, device=device, warn=_warn))
    else:
        dev = resolve_device(device)
    data = load_data(cfg, dir_a, dir_b)
    if not resume:
        record = {"a": str(dir_a), "b": str(dir_b) if dir_b else None, "config": cfg.to_dict(), "device": dev, "runtime": runtime.capture(threads, dev)}
        out = create_run(out.parent, name=out.name, tag=cfg.model, kind="translate", options=record)
    try:
        result = run_translate(cfg, data, out, resume=resume, device=dev, show_progress=show_progress(quiet, as_json), callback=_note(quiet))
    except Interrupted as exc:
        _interrupted(exc)
        raise
    except BrushworkError:
        if not resume:
            discard_failed_start(out)
        raise
    _report("translate", out, result, as_json, quiet)
