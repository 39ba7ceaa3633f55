"""Configs: presets, TOML/YAML files, overrides, unknown keys and wrong types."""

import pytest

from brushwork.errors import BrushworkError
from brushwork.gan.config import PRESETS, config_from_dict, parse_override, preset_dict, resolve_config


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid(name):
    over = [{"data": {"path": "somewhere"}}] if name.endswith("-folder") else []
    cfg = resolve_config(preset=name, overrides=over)
    assert cfg.name == name
    assert config_from_dict(cfg.to_dict()) == cfg


def test_required_presets_exist():
    assert {"mlp-digits", "dcgan-digits", "wgan-gp-grid", "sngan-folder"} <= set(PRESETS)
    assert preset_dict("mlp-digits")["model"]["g_hidden"] == [128, 128, 100]


def test_toml_and_yaml_files(tmp_path):
    (tmp_path / "a.toml").write_text('preset = "dcgan-digits"\n[train]\nsteps = 7\nlr_g = 1\n')
    cfg = resolve_config(file=tmp_path / "a.toml")
    assert cfg.train.steps == 7 and cfg.train.lr_g == 1.0 and isinstance(cfg.train.lr_g, float) and cfg.name == "a"
    (tmp_path / "b.yaml").write_text("model:\n  arch: mlp\n  g_hidden: [4, 4]\ndata:\n  dataset: ring\ntrain:\n  steps: 3\n")
    cfg = resolve_config(file=tmp_path / "b.yaml", overrides=[parse_override("train.seed=4")])
    assert cfg.model.g_hidden == [4, 4] and cfg.train.seed == 4 and cfg.data.dataset == "ring"


@pytest.mark.parametrize(
    "data,match",
    [
        ({"model": {"widht": 3}}, "unknown key model.widht"),
        ({"extra": {}}, "unknown key 'extra'"),
        ({"train": {"steps": 1.5}}, "train.steps must be int"),
        ({"train": {"steps": True}}, "train.steps must be int"),
        ({"model": {"g_hidden": [1, "a"]}}, r"model.g_hidden\[1\] must be int"),
        ({"model": {"g_hidden": 3}}, "model.g_hidden must be a list"),
        ({"train": "fast"}, r"\[train\] must be a table"),
        ({"model": {"arch": "mlp"}, "data": {"dataset": "ring"}, "train": {"augment": "zoom"}}, "augment"),
        ({"train": {"batch_size": 10}, "model": {"pack": 4}}, "divisible"),
        ({"model": {"g_fourier": -1}}, "g_fourier must be >= 0"),
        ({"model": {"d_fourier_scale": 0.0}}, "_scale > 0"),
    ],
)
def test_bad_configs(data, match):
    with pytest.raises(BrushworkError, match=match):
        config_from_dict(data)


def test_needs_a_source():
    with pytest.raises(BrushworkError, match="preset"):
        resolve_config()


def test_presets_resolve_as_before_they_moved_to_files():
    """Every preset that existed as a dict in gan/config.py resolves to the same config from its TOML file."""
    import json
    from pathlib import Path

    before = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "gan_presets_before.json").read_text())
    assert sorted(PRESETS) == sorted(before)
    for name, old in before.items():
        assert preset_dict(name) == old, name


def test_errors_name_the_config_field():
    from brushwork.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        config_from_dict({"train": {"batch_size": 10}, "model": {"pack": 4}})
    assert info.value.field == "train.batch_size"
    with pytest.raises(ConfigError) as info:
        config_from_dict({"model": {"widht": 3}})
    assert info.value.field == "model.widht"
