"""The config base (brushwork.config): strict dicts, round trips, overrides, preset files, field-named errors."""

from __future__ import annotations

import pytest

from brushwork.config import ConfigBase, parse_override, preset_names, resolve
from brushwork.errors import BrushworkError, ConfigError
from brushwork.gan.config import GANConfig
from brushwork.style.decoder_train import DecoderTrainConfig
from brushwork.style.ff_config import FFTrainConfig
from brushwork.style.linear_train import GramTrainConfig
from brushwork.style.optimize import StyleOptions
from brushwork.translate.config import TranslateConfig

EXAMPLES = [
    GANConfig(),
    TranslateConfig(size=32),
    FFTrainConfig(kind="fast", content="c", style="s"),
    DecoderTrainConfig(layer="relu1_1", sources=["a"]),
    GramTrainConfig(content="c", style="s", exclude=("x.png",)),
    StyleOptions(style_blend=(0.5, 0.5)),
]


@pytest.mark.parametrize("cfg", EXAMPLES, ids=lambda c: type(c).__name__)
def test_every_config_round_trips_and_refuses_unknown_keys(cfg):
    assert isinstance(cfg, ConfigBase)
    assert type(cfg).from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown key") as info:
        type(cfg).from_dict({**cfg.to_dict(), "colour": 1})
    assert info.value.field == "colour"


@pytest.mark.parametrize("cls,data,field", [
    (FFTrainConfig, {"kind": "fast", "content": "c", "style": "s", "steps": "many"}, "steps"),
    (FFTrainConfig, {"kind": "fast", "content": "c", "style": "s", "amp": 1}, "amp"),
    (DecoderTrainConfig, {"layer": "relu1_1", "sources": "a"}, "sources"),
    (GramTrainConfig, {"content": "c", "style": "s", "exclude": [1]}, "exclude[0]"),
    (TranslateConfig, {"load_size": 1.5}, "load_size"),
    (GANConfig, {"model": {"g_hidden": [1, "a"]}}, "model.g_hidden[1]"),
])
def test_wrong_types_name_the_dotted_key(cls, data, field):
    with pytest.raises(ConfigError) as info:
        cls.from_dict(data)
    assert info.value.field == field and field in str(info.value)


def test_required_keys_and_validation_name_the_field():
    with pytest.raises(ConfigError, match="missing key style") as info:
        FFTrainConfig.from_dict({"kind": "fast", "content": "c"})
    assert info.value.field == "style"
    with pytest.raises(ConfigError) as info:
        FFTrainConfig.from_dict({"kind": "fast", "content": "c", "style": "s", "batch_size": 0})
    assert info.value.field == "batch_size" and str(info.value).startswith("batch_size")
    assert str(info.value.renamed("--batch")).startswith("--batch must be")


def test_types_are_normalised():
    cfg = GramTrainConfig.from_dict({"content": "c", "style": "s", "exclude": ["a.png"], "lr": 1})
    assert cfg.exclude == ("a.png",) and isinstance(cfg.lr, float)
    assert TranslateConfig.from_dict({"size": 32, "load_size": None}).load_size == 36


def test_overrides_and_presets():
    cfg = FFTrainConfig(kind="adain", content="c", style="s").apply_overrides([parse_override("steps=5"), {"width": 0.5}])
    assert (cfg.steps, cfg.width) == (5, 0.5)
    assert parse_override("train.lr_g=1e-3") == {"train": {"lr_g": 0.001}}
    with pytest.raises(BrushworkError, match="section.key"):
        parse_override("steps=3", depth=2)
    assert {"default"} <= set(preset_names("fast")) and {"cyclegan-default"} <= set(preset_names("translate"))
    cfg = resolve(TranslateConfig, "translate", preset="pix2pix-default", overrides=[{"steps": 3}])
    assert (cfg.model, cfg.steps, cfg.size) == ("pix2pix", 3, 256)
    assert GANConfig.load_preset("gan", "dcgan-digits").model.arch == "dcgan"
    with pytest.raises(BrushworkError, match="unknown preset"):
        GANConfig.load_preset("gan", "../fast/default")


def test_config_files(tmp_path):
    (tmp_path / "t.yaml").write_text("model: pix2pix\nsize: 64\n")
    assert TranslateConfig.from_file(tmp_path / "t.yaml").model == "pix2pix"
    (tmp_path / "bad.toml").write_text("size = [\n")
    with pytest.raises(BrushworkError, match="cannot parse"):
        TranslateConfig.from_file(tmp_path / "bad.toml")
