"""`brushwork translate ...`: train CycleGAN / pix2pix, apply a run, export it, make demo data.

The commands only parse options and report; the work is in :mod:`brushwork.translate`.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from ..translate.synthetic import TASKS
from ..translate.config import TranslateConfig
from .common import device_option, emit_json, json_option, onnx_options, quiet_option, report_training, reserve_output, resolve_device, show_progress
from .options import AliasedOption, build, flag_errors, flag_names, options_from, threads_option

direction_option = click.option("--direction", type=click.Choice(["a2b", "b2a"]), default=None, help="a2b: domain A to B; b2a (CycleGAN only): B to A. Default: a2b for a run, a model folder's own direction.")
model_choice = click.Choice(["cyclegan", "pix2pix"])


@click.group()
def translate() -> None:
    """GAN image-to-image translation: CycleGAN (unpaired) and pix2pix (paired)."""


def _warn(message: str) -> None:
    click.echo(f"brushwork: warning: {message}", err=True)


def _resume_config(run: Path, model: str | None, steps: int | None):
    """The config to resume ``run`` with (its newest intact checkpoint's, or ``run.json``'s
    when it was stopped before the first one) and the run's options."""
    from ..training.checkpoint import resume_checkpoint, verify_checkpoint
    from ..training.runs import read_run

    record = read_run(run, kind="translate")
    last = resume_checkpoint(run, _warn)
    saved = verify_checkpoint(last)[1].get("config") if last is not None else record["options"].get("config")
    cfg = TranslateConfig.from_dict(saved or {})
    if model is not None and model != cfg.model:
        raise BrushworkError(f"{run}: is a {cfg.model} run, not a {model} run")
    if steps is not None:
        cfg.steps = steps
    return cfg, record["options"]


RESUME_FIXED = ("size", "batch_size", "width", "amp", "seed")
"""Options that define a translation run: given again with --resume they are refused."""


def _given(names: tuple[str, ...]) -> list[str]:
    """The options among ``names`` typed on this command line."""
    ctx = click.get_current_context()
    return [n for n in names if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]


@translate.command()
@options_from(TranslateConfig, only=("model",))
@click.option("--a", "dir_a", type=click.Path(), help="Domain A: a folder (or .zip) of images; for pix2pix alone, side-by-side A|B images.")
@click.option("--b", "dir_b", type=click.Path(), help="Domain B: a folder (or .zip); for pix2pix, files named like those in --a.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The run folder (created; must not hold another run unless --resume).")
@click.option("--size", type=click.IntRange(32), help="Training crop size in px (default 256, as the papers).")
@click.option("--steps", type=click.IntRange(1), help="Total generator updates (default 2000; with --resume, a new total).")
@options_from(TranslateConfig, only=("batch_size",))
@click.option("--width", type=click.IntRange(1), help="Base width ngf = ndf of the networks (default 64, as the papers).")
@options_from(TranslateConfig, only=("amp", "seed", "ckpt_every"))
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where its newest checkpoint stopped.")
@device_option
@threads_option
@quiet_option
@json_option
def train(dir_a, dir_b, out, size, steps, width, resume, device, threads, quiet, as_json, **fields) -> None:
    """Train CycleGAN or pix2pix; checkpoints, sample grids and logs go to the run folder --out."""
    from ..training import runtime
    from ..training.loop import Interrupted
    from ..training.runs import create_run
    from ..translate.train import load_data
    from ..translate.train import train as run_training

    run = Path(out)
    if resume:
        given = _given(RESUME_FIXED)
        if given:
            raise BrushworkError(f"{flag_names(TranslateConfig, extra={'width': '--width'})[given[0]]} cannot change when resuming (only --steps and --ckpt-every may)")
        cfg, options = _resume_config(run, fields["model"] if _given(("model",)) else None, steps)
        cfg.ckpt_every = fields["ckpt_every"] if _given(("ckpt_every",)) else cfg.ckpt_every
        dir_a, dir_b = dir_a or options.get("a"), dir_b or options.get("b")
        dev = resolve_device(runtime.restore(options.get("runtime"), threads=threads, device=device, warn=_warn))
    else:
        dev = resolve_device(device)
        sized = {"size": size or 256, **({"steps": steps} if steps else {}), **({"ngf": width, "ndf": width} if width else {})}
        cfg = build(TranslateConfig, fields, flags={"size": "--size", "steps": "--steps", "ngf": "--width", "ndf": "--width"}, **sized)
        run_env = runtime.capture(threads, dev)
    if not dir_a:
        raise BrushworkError("--a is required (a folder of domain-A images)")
    data = load_data(cfg, dir_a, dir_b)
    if not resume:
        options = {"a": str(dir_a), "b": str(dir_b) if dir_b else None, "config": cfg.to_dict(), "device": dev, "runtime": run_env}
        run = create_run(run.parent, name=run.name, tag=cfg.model, kind="translate", options=options)
    note = (lambda e, d: click.echo(f"brushwork: warning: {d['message']}", err=True) if e == "warning" else None) if not quiet else None
    try:
        result = run_training(cfg, data, run, resume=resume, device=dev, show_progress=show_progress(quiet, as_json), callback=note)
    except Interrupted as exc:
        click.echo(f"brushwork: {exc}", err=True)
        raise
    except BrushworkError:
        if not resume:
            from ..training.runs import discard_failed_start

            discard_failed_start(run)  # a start that failed before its first checkpoint leaves its name free
        raise
    report_training(result, {"run": str(run), "model": cfg.model}, f"{cfg.model} in {run} (samples in {run / 'samples'})", quiet=quiet, as_json=as_json,
                    skipped_images=data.skipped)


@translate.command()
@click.argument("run", type=click.Path())
@click.argument("source", type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(), help="Output image (for one input image) or folder (for a folder).")
@direction_option
@click.option("--arch", "--model", "model", type=model_choice, cls=AliasedOption, hidden_names=("--model",), help="Refuse the run unless it was trained as this architecture.")
@click.option("--size", "long_side", type=click.IntRange(16), help="Resize each input so its long side is this many px first (default: as it is).")
@device_option
@json_option
def apply(run, source, output, direction, model, long_side, device, as_json) -> None:
    """Translate an image, or every image in a folder, with a trained run or a translator model folder (RUN/model-a2b ...)."""
    from ..fsutil import reserve_folder
    from ..translate.apply import load_translator, translate_path

    if Path(source).is_dir():
        reserve_folder(output)  # an unwritable output fails before the model loads
    elif not Path(output).is_dir():
        reserve_output(output)
    with flag_errors(extra={"direction": "--direction"}):
        tr = load_translator(run, direction, model=model, device=resolve_device(device))
    result = translate_path(tr, source, output, long_side=long_side)
    failed = [f for f in result.get("files", []) if f["status"] != "ok"]
    for f in failed:
        click.echo(f"brushwork: failed: {f['reason']}", err=True)
    summary = f"wrote {len(result['written'])} of {len(result.get('files', result['written']))} image(s) to {output}" + (f"; {len(failed)} failed" if failed else "")
    if as_json:
        emit_json({"run": run, "model": tr.cfg.model, "direction": tr.direction, "step": tr.step, **result})
    if failed:
        raise BrushworkError(summary)
    if not as_json:
        click.echo(summary)


@translate.command()
@click.argument("run", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="ONNX file to write.")
@direction_option
@onnx_options
@json_option
def export(run, output, direction, opset, check, as_json) -> None:
    """Export one direction's generator (of a run or a model folder) to ONNX (images in [0, 1] in and out)."""
    reserve_output(output)  # an unwritable output fails now, not after the work
    from ..translate.apply import export_onnx, load_translator

    with flag_errors(extra={"direction": "--direction"}):
        translator = load_translator(run, direction)
    result = export_onnx(translator, output, opset=opset, check=check)
    if as_json:
        emit_json(result)
    else:
        diff = result["max_abs_diff"]
        click.echo(f"wrote {output} (height and width: multiples of {result['multiple']})" + (f"; onnxruntime matches PyTorch within {diff:.1e}" if diff is not None else ""))


@translate.command("make-data")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--task", type=click.Choice(TASKS), default="sepia", show_default=True)
@click.option("--size", type=click.IntRange(16), default=64, show_default=True)
@click.option("--train", "n_train", type=click.IntRange(1), default=400, show_default=True)
@click.option("--test", "n_test", type=click.IntRange(1), default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
def make_data(out, task, size, n_train, n_test, seed, as_json) -> None:
    """Write a synthetic task: photo crops (A) and their rendering (B) in trainA/trainB/testA/testB."""
    from ..translate.synthetic import write_task

    folders = write_task(out, task, size, n_train, n_test, seed)
    if as_json:
        emit_json(folders)
    else:
        click.echo(f"wrote {n_train} training and {n_test} test pairs ({task}, {size} px) under {out}")
