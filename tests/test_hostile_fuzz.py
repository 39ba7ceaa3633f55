"""Property-based fuzzing (hypothesis) of the config loaders and the CLI's numeric options:
every answer is success or one BrushworkError line (exit 0 or 2), never a traceback, and no
file changes on failure. A dozen examples each, so the file runs in seconds."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brushwork.errors import BrushworkError
from brushwork.imageio import save_image

from fs_faults import hidden_files
from test_hostile_inputs import _cli, _write, fast_model  # noqa: F401 - fast_model is a fixture

FUZZ = settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ANY = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), st.booleans(), st.none(),
                st.lists(st.integers(-10**6, 10**6), max_size=4))


@FUZZ
@given(values=st.dictionaries(st.sampled_from(["kind", "content", "style", "size", "steps", "batch_size", "lr", "width", "style_weight",
                                                 "recon_steps", "identity_weight", "seed", "log_every"]), ANY, max_size=6))
def test_fuzz_ff_train_config(values):
    from brushwork.style.ff_train import FFTrainConfig

    base = {"kind": "fast", "content": "c", "style": "s"}
    try:
        cfg = FFTrainConfig.from_dict({**base, **values})
    except BrushworkError as exc:
        assert "\n" not in str(exc)
        return
    assert 1 <= cfg.steps <= 10**9 and 0 < cfg.lr <= 1 and 32 <= cfg.size <= 1024


GAN_KEYS = ["model.z_dim", "model.g_width", "model.g_hidden", "model.pack", "model.maxout", "data.img_size", "train.steps",
            "train.batch_size", "train.lr_g", "train.beta1", "train.ema_decay", "train.ckpt_every", "train.seed"]


@FUZZ
@given(key=st.sampled_from(GAN_KEYS), raw=st.one_of(st.integers(-10**12, 10**12).map(str), st.sampled_from(["nan", "-.inf", "x", "[1,-2]", "[]", "1e400", "true", ""]), st.text(max_size=6)))
def test_fuzz_gan_set_values(key, raw):
    from brushwork.gan.config import parse_override, resolve_config

    try:
        cfg = resolve_config(preset="mlp-digits", overrides=[parse_override(f"{key}={raw}")])
    except BrushworkError as exc:
        assert "\n" not in str(exc)
        return
    section, name = key.split(".")
    value = getattr(getattr(cfg, section), name)
    assert value == value and value not in (float("inf"), float("-inf"))  # no NaN or infinity got through


@FUZZ
@given(config=st.dictionaries(st.sampled_from(["channels", "residual_blocks", "edge_kernel", "input_scale"]), ANY, max_size=4))
def test_fuzz_model_config_json(tmp_path, fast_model, config):
    from brushwork.style.pretrained import from_pretrained

    d = tmp_path / "m"
    if not d.exists():
        shutil.copytree(fast_model, d)
    record = json.loads((fast_model / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**record, "config": {**record["config"], **config}}))
    try:
        from_pretrained(d)
    except BrushworkError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(option=st.sampled_from(["--size", "--tile", "--quality", "--alpha", "--max-pixels", "--iterations"]),
       value=st.one_of(st.integers(-10**6, 10**7).map(str), st.sampled_from(["nan", "inf", "-1", "0", "1e3", "x", ""])))
def test_fuzz_cli_numeric_options(tmp_path, fast_model, capsys, option, value):
    os.environ["BRUSHWORK_MEMORY_LIMIT"] = str(256 * 1024**2)  # large sizes are refused, not computed
    try:
        photo = tmp_path / "p.png"
        if not photo.exists():
            _write(photo, np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8))
            save_image(torch.full((3, 4, 4), 0.5), tmp_path / "o.png")
        before = (tmp_path / "o.png").read_bytes()
        code, _, err = _cli(["stylize", photo, "--method", "fast", "--model", fast_model, "-o", tmp_path / "o.png", option, value, "-q"], capsys)
        assert code in (0, 2), err
        if code == 2:
            assert len(err.strip().splitlines()) == 1
            assert (tmp_path / "o.png").read_bytes() == before
        else:
            save_image(torch.full((3, 4, 4), 0.5), tmp_path / "o.png")
        assert hidden_files(tmp_path) == []
    finally:
        del os.environ["BRUSHWORK_MEMORY_LIMIT"]
