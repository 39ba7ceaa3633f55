"""Options generated from dataclass fields (brushwork.commands.options): defaults, choices,
old spellings, and the field -> flag wording of library errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing

import click
import pytest
from click.testing import CliRunner

from brushwork.cli import cli, main
from brushwork.commands.options import AliasedOption, build, options_from, pop_overrides, to_flags
from brushwork.errors import BrushworkError

GENERATED = {  # command path -> fields that must be generated options there
    "stylize": {"size", "iterations", "style_blend", "style_loss", "method", "model", "alpha", "tile"},
    "style train-fast": {"preset", "batch_size", "lr", "sample_every", "ckpt_every"},
    "style train-adain": {"width", "recon_steps", "identity_weight", "batch_size"},
    "style train-decoder": {"layer", "holdout", "batch_size", "feature_weight", "input_scale"},
    "style train-gram": {"exclude", "objective", "batch_size", "style_weight", "size", "lr", "ckpt_every"},
    "translate train": {"model", "batch_size", "amp", "ckpt_every"},
    "gan train": {"steps", "batch_size", "seed"},
}


def _walk(command: click.Command, path: str = "") -> typing.Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), f"{path} {name}".strip())


COMMANDS = dict(_walk(cli))


def _field(option: AliasedOption) -> dataclasses.Field:
    return {f.name: f for f in dataclasses.fields(option.owner)}[option.field_name]


def _field_default(f: dataclasses.Field):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def _generated(command: click.Command) -> list[AliasedOption]:
    return [p for p in command.params if isinstance(p, AliasedOption) and p.owner is not None]


def test_every_generated_option_defaults_to_its_field_default():
    checked = 0
    for path, command in COMMANDS.items():
        for option in _generated(command):
            default = _field_default(_field(option))
            if option.override:  # layered configs: no default of its own, the preset's value stays
                assert option.default is None, (path, option.name)
            elif option.multiple:
                assert option.default == tuple(default), (path, option.name)
            else:
                assert option.default == default, (path, option.name, option.default, default)
            checked += 1
    assert checked >= 60


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_the_commands_generate_their_options_from_fields(path):
    names = {o.field_name for o in _generated(COMMANDS[path])}
    assert GENERATED[path] <= names, GENERATED[path] - names


@pytest.mark.parametrize("path", sorted(p for p in COMMANDS if p))
def test_help_of_every_command_renders(path):
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_a_literal_field_gives_a_choice_of_exactly_its_values():
    from brushwork.commands.stylize_options import OnePassOptions

    method = next(o for o in COMMANDS["stylize"].params if o.name == "method")
    hint = typing.get_type_hints(OnePassOptions)["method"]
    assert typing.get_origin(hint) is typing.Literal
    assert isinstance(method.type, click.Choice) and list(method.type.choices) == list(typing.get_args(hint))


def test_choices_metadata_and_ranges():
    from brushwork.style.optimize import StyleOptions

    loss = next(o for o in COMMANDS["stylize"].params if o.name == "style_loss")
    assert list(loss.type.choices) == list({f.name: f for f in dataclasses.fields(StyleOptions)}["style_loss"].metadata["choices"])
    tile = next(o for o in COMMANDS["stylize"].params if o.name == "tile")
    assert isinstance(tile.type, click.IntRange) and tile.type.min == 0


def _parse(path: str, argv: list[str]) -> dict:
    command = COMMANDS[path]
    with command.make_context(path, argv) as ctx:
        return dict(ctx.params)


def test_old_spellings_still_parse_but_are_hidden():
    assert _parse("style train-fast", ["--out", "o", "--batch", "3"])["batch_size"] == 3
    assert _parse("style train-fast", ["--out", "o", "--batch-size", "5"])["batch_size"] == 5
    assert _parse("style train-decoder", ["--layer", "relu1_1", "--out", "o", "--batch", "2"])["batch_size"] == 2
    assert _parse("translate train", ["--out", "o", "--model", "pix2pix"])["model"] == "pix2pix"
    assert _parse("translate train", ["--out", "o", "--arch", "pix2pix"])["model"] == "pix2pix"
    help_text = CliRunner().invoke(cli, ["style", "train-fast", "--help"]).output
    assert "--batch-size" in help_text and "--batch " not in help_text and "--batch," not in help_text
    assert "--model" not in CliRunner().invoke(cli, ["translate", "train", "--help"]).output


def test_amp_has_one_meaning_and_the_bare_flag_means_bf16():
    for path, argv in [("style train-fast", ["--out", "o"]), ("style train-gram", ["--out", "o"]), ("translate train", ["--out", "o"])]:
        amp = next(o for o in COMMANDS[path].params if o.name == "amp")
        assert list(amp.type.choices) == ["auto", "bf16", "off"], path
    assert _parse("style train-fast", ["--out", "o", "--amp"])["amp"] == "bf16"
    assert _parse("style train-fast", ["--out", "o", "--amp", "off"])["amp"] == "off"
    assert _parse("style train-fast", ["--out", "o"])["amp"] == "off"


def test_threads_is_one_option():
    for path in ("style train-fast", "style train-decoder", "style train-gram", "translate train", "gan train", "serve"):
        threads = next(o for o in COMMANDS[path].params if o.name == "threads")
        assert threads.default == 0 and isinstance(threads.type, click.IntRange) and threads.type.min == 0, path


def test_gan_direct_flags_are_overrides_of_the_train_section():
    from brushwork.gan.config import TrainConfig

    params = _parse("gan train", ["--steps", "7", "--batch-size", "16"])
    assert pop_overrides(TrainConfig, params, "train") == [{"train": {"steps": 7}}, {"train": {"batch_size": 16}}]
    assert "steps" not in params and "seed" not in params


def test_library_errors_name_fields_and_the_cli_names_flags(tmp_path, capsys):
    from brushwork.style.ff_config import FFTrainConfig
    from brushwork.style.optimize import StyleOptions

    with pytest.raises(BrushworkError) as lib:
        FFTrainConfig(kind="fast", content="c", style="s", batch_size=0).validate()
    assert "batch_size" in str(lib.value) and "--" not in str(lib.value)
    style = tmp_path / "s.png"
    style.write_bytes(b"")
    argv = ["style", "train-fast", "--style", str(style), "--content", str(tmp_path), "--out", str(tmp_path / "m"), "--batch", "0", "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--batch-size" in err and "batch_size" not in err, err
    assert not (tmp_path / "m").exists()

    with pytest.raises(BrushworkError, match="^iterations must be positive"):
        StyleOptions(iterations=0).validate()
    assert main(["stylize", str(style), str(style), "-o", str(tmp_path / "o.png"), "--iterations", "0", "-q"]) == 2
    assert "--iterations must be positive" in capsys.readouterr().err


@dataclasses.dataclass
class _Demo:
    batch_size: int = dataclasses.field(default=4, metadata={"aliases": ("--batch",), "min": 1, "help": "Batch."})
    mode: typing.Literal["a", "b"] = "a"
    weights: tuple[float, ...] | None = None
    fast: bool = True
    names: tuple[str, ...] = dataclasses.field(default=("x",), metadata={"multiple": True})
    hidden: int = dataclasses.field(default=0, metadata={"cli": False})

    def validate(self) -> "_Demo":
        if self.batch_size > 10:
            raise BrushworkError(f"batch_size must be at most 10, not {self.batch_size}")
        return self


@click.command()
@options_from(_Demo)
def _demo(**kwargs) -> None:
    click.echo(repr(build(_Demo, kwargs)))


def test_the_style_commands_defer_their_torch_heavy_config_modules():
    code = "import sys, brushwork.commands.style; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_generated_types_and_build():
    run = CliRunner().invoke(_demo, ["--batch", "3", "--mode", "b", "--weights", "0.5,1.5", "--no-fast", "--names", "p", "--names", "q"])
    assert run.exit_code == 0, run.output
    assert run.output.strip() == repr(_Demo(batch_size=3, mode="b", weights=(0.5, 1.5), fast=False, names=("p", "q")))
    assert CliRunner().invoke(_demo, ["--batch-size", "0"]).exit_code == 2  # min 1
    assert CliRunner().invoke(_demo, ["--mode", "c"]).exit_code == 2
    assert CliRunner().invoke(_demo, ["--hidden", "1"]).exit_code == 2  # cli=False: no option
    bad = CliRunner().invoke(_demo, ["--batch-size", "11"])
    assert isinstance(bad.exception, BrushworkError) and str(bad.exception) == "--batch-size must be at most 10, not 11"


def test_only_whole_field_names_become_flags():
    names = {"size": "--size", "batch_size": "--batch-size"}
    assert to_flags("load_size 300 is smaller than size 256", names) == "load_size 300 is smaller than --size 256"
    assert to_flags("--size and batch_size must be positive", names) == "--size and --batch-size must be positive"
