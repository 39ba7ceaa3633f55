"""The model hub: save_pretrained -> load round trips for every kind, the folder format, the
registries, and the one-line refusals."""

import json
import os

import pytest
import torch
from safetensors.torch import load_file, save_file

import brushwork
from brushwork import models as M
from brushwork.errors import BrushworkError
from brushwork.models import folder as F


def _fast():
    from brushwork.style.fast import FastConfig, TransformerNet

    torch.manual_seed(0)
    return TransformerNet(FastConfig(channels=(4, 8, 8), residual_blocks=1, edge_kernel=3)).eval()


def _gan():
    from brushwork.gan.config import resolve_config
    from brushwork.gan.models import build_generator
    from brushwork.gan.sample import LoadedGenerator

    cfg = resolve_config(preset="dcgan-digits", overrides=[{"model": {"g_width": 4, "z_dim": 8}, "data": {"img_size": 8}}])
    torch.manual_seed(0)
    return LoadedGenerator(build_generator(cfg.model, (1, 8, 8), 0).eval(), cfg, 3, True, None, (1, 8, 8))


def _translator(model="cyclegan", direction="b2a"):
    from brushwork.translate.apply import Translator, generator_for
    from brushwork.translate.config import TranslateConfig

    cfg = TranslateConfig(model=model, size=32, ngf=4)
    net = generator_for(cfg, direction).eval()
    return Translator(net, cfg, direction, 5, net.multiple, torch.device("cpu"))


def _outputs(kind, model):
    """The model's output on a fixed input, by kind."""
    g = torch.Generator().manual_seed(1)
    if kind == "fast":
        return model(torch.rand(1, 3, 16, 20, generator=g))
    if kind == "adain":
        return model(torch.rand(1, 512, 2, 3, generator=g))
    if kind == "backbone":
        return model(torch.rand(1, 3, 16, 16, generator=g), ["relu2_1"])["relu2_1"]
    if kind == "gan-generator":
        from brushwork.gan.sample import sample

        return sample(model, 3, seed=2)
    return model(torch.rand(2, 3, 20, 24, generator=g))  # translator: any size (padded, cropped back)


def _make(kind):
    if kind == "fast":
        return _fast(), "vgg16-hed"
    if kind == "adain":
        from brushwork.style.adain import AdaINConfig, Decoder

        torch.manual_seed(0)
        return Decoder(AdaINConfig(width=0.125)).eval(), "vgg16-hed"
    if kind == "backbone":
        from brushwork.backbones.vgg import VGGFeatures

        torch.manual_seed(0)
        return VGGFeatures("vgg16", normalization="caffe"), None
    return (_gan() if kind == "gan-generator" else _translator()), None


@pytest.mark.parametrize("kind", ["fast", "adain", "backbone", "gan-generator", "translator"])
def test_round_trip_for_every_kind(tmp_path, kind):
    model, backbone = _make(kind)
    d = M.save_pretrained(model, tmp_path / kind, provenance={"how": "test", "step": 3}, backbone=backbone)
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.safetensors"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    back = brushwork.load(d)
    assert back.kind == kind and back.backbone == backbone and back.provenance == {"how": "test", "step": 3}
    assert back.config is not None
    assert torch.equal(_outputs(kind, back), _outputs(kind, model))
    again = back.save_pretrained(tmp_path / "again")  # every loaded model saves itself, provenance kept
    assert json.loads((again / "config.json").read_text()) == json.loads((d / "config.json").read_text())
    assert torch.equal(_outputs(kind, brushwork.load(again, kind=kind)), _outputs(kind, model))


def test_load_vgg_takes_a_backbone_folder(tmp_path):
    from brushwork.backbones.vgg import VGGFeatures, load_vgg

    torch.manual_seed(0)
    vgg = VGGFeatures("vgg16", normalization="caffe")
    d = M.save_pretrained(vgg, tmp_path / "vgg", half=True)
    avg = load_vgg(str(d), pooling="avg")
    assert avg.kind == "backbone" and avg.pooling == "avg" and avg.normalization == "caffe"
    x = torch.rand(1, 3, 16, 16)
    ref = VGGFeatures("vgg16", pooling="avg", normalization="caffe")
    ref.features.load_state_dict({k: v.half().float() for k, v in vgg.features.state_dict().items()})
    assert torch.equal(avg(x, ["relu3_1"])["relu3_1"], ref(x, ["relu3_1"])["relu3_1"])


def test_a_run_folder_names_its_model_folders(tmp_path):
    run = tmp_path / "run"
    M.save_pretrained(_translator(direction="a2b"), run / "model-a2b")
    with pytest.raises(BrushworkError, match="not a Brushwork model folder .*its model folders: .*model-a2b"):
        M.load(run)


def test_folder_format_and_half_weights(tmp_path):
    net = _fast()
    d = M.save_pretrained(net, tmp_path / "m", half=True, backbone="vgg16-hed", provenance={"source": "x.pth", "licence": "MIT"})
    record = json.loads((d / "config.json").read_text())
    assert record == {"brushwork_model": M.FORMAT_VERSION, "kind": "fast", "config": record["config"], "backbone": "vgg16-hed",
                      "dtype": "float16", "provenance": {"source": "x.pth", "licence": "MIT"}}
    assert record["config"]["channels"] == [4, 8, 8] and record["config"]["residual_blocks"] == 1
    stored = load_file(str(d / "model.safetensors"))
    assert all(v.dtype == torch.float16 for v in stored.values())
    back = M.load(d)
    for k, v in net.state_dict().items():
        assert back.state_dict()[k].dtype == torch.float32 and torch.equal(back.state_dict()[k], v.half().float())


def test_saving_replaces_a_folder_whole_and_keeps_a_run_inside_it(tmp_path):
    d = M.save_pretrained(_fast(), tmp_path / "m", backbone="vgg16-hed")
    M.save_pretrained(_translator(), d)  # a folder of another kind: replaced as a whole
    assert M.read_config(d)["kind"] == "translator"
    (d / "run").mkdir()
    (d / "run" / "log.txt").write_text("keep me")
    M.save_pretrained(_fast(), d, backbone="vgg16-hed")  # holds a run: only the two files change
    assert (d / "run" / "log.txt").read_text() == "keep me" and M.read_config(d)["kind"] == "fast"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_failed_save_leaves_the_old_folder_untouched(tmp_path):
    d = M.save_pretrained(_fast(), tmp_path / "m", backbone="vgg16-hed")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    with pytest.raises(TypeError):
        M.save_pretrained(_fast(), d, provenance={"not json": object()})
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_old_training_records_read_as_provenance(tmp_path):
    d = M.save_pretrained(_fast(), tmp_path / "m", backbone="vgg16-hed")
    record = json.loads((d / "config.json").read_text())
    del record["provenance"]
    record["training"] = {"steps": 7, "note": "old"}
    (d / "config.json").write_text(json.dumps(record))
    assert M.read_config(d)["provenance"] == {"how": "trained with Brushwork", "training": {"steps": 7, "note": "old"}}
    assert M.load(d).provenance["training"]["steps"] == 7


def test_packaged_models_record_provenance_and_load_by_name():
    packaged = M.packaged_models()
    if not packaged:
        pytest.skip("no packaged models in this checkout")
    for name, path in packaged.items():
        raw = json.loads((path / "config.json").read_text())
        assert "training" not in raw and raw["provenance"]["licence"] and raw["provenance"]["how"]
        assert M.read_config(name)["kind"] == raw["kind"]
    assert M.default_model("adain").name in packaged or "adain-light" not in packaged


def _refused(path, match, **kw):
    with pytest.raises(BrushworkError, match=match) as info:
        M.load(path, **kw)
    assert "\n" not in str(info.value)
    return str(info.value)


def _edit_config(d, **changes):
    record = json.loads((d / "config.json").read_text())
    record.update(changes)
    (d / "config.json").write_text(json.dumps(record))


def test_refusals_are_one_line(tmp_path):
    good = M.save_pretrained(_fast(), tmp_path / "good", backbone="vgg16-hed")
    _refused(good, "is a 'fast' model, not a 'translator' model", kind="translator")
    _refused(tmp_path / "missing", "no such model folder")
    (tmp_path / "empty").mkdir()
    _refused(tmp_path / "empty", "not a Brushwork model folder")
    for name, changes, match in [
        ("kind", {"kind": "hologram"}, "unknown model kind 'hologram'"),
        ("version", {"brushwork_model": 99}, "unsupported model format version 99"),
        ("settings", {"config": [1, 2]}, "lacks its network settings"),
        ("field", {"config": {"channels": [4, 8, 8], "wings": 2}}, "not a valid FastConfig"),
        ("shape", {"config": {"channels": [4, 8, 16], "residual_blocks": 1, "edge_kernel": 3}}, "mis-shaped"),
        ("blocks", {"config": {"channels": [4, 8, 8], "residual_blocks": 2, "edge_kernel": 3}}, r"missing \(\d+\): net\."),
    ]:
        d = M.save_pretrained(_fast(), tmp_path / name, backbone="vgg16-hed")
        _edit_config(d, **changes)
        _refused(d, match)
    extra = M.save_pretrained(_fast(), tmp_path / "extra", backbone="vgg16-hed")
    tensors = load_file(str(extra / "model.safetensors"))
    save_file({**tensors, "head.weight": torch.zeros(2)}, str(extra / "model.safetensors"))
    _refused(extra, r"unexpected \(1\): head.weight")
    os.remove(good / "model.safetensors")
    _refused(good, "model weights model.safetensors are missing")
    (good / "model.safetensors").write_bytes(b"not safetensors")
    _refused(good, "unreadable weights")


def test_gan_and_translator_configs_are_validated(tmp_path):
    gan = M.save_pretrained(_gan(), tmp_path / "gan")
    record = json.loads((gan / "config.json").read_text())
    for changes, match in [({"sample_shape": [1, 8]}, "sample_shape"), ({"num_classes": -1}, "num_classes"),
                           ({"gan": {**record["config"]["gan"], "model": {"arch": "nope"}}}, "model.arch")]:
        _edit_config(gan, config={**record["config"], **changes})
        _refused(gan, match)
    tr = M.save_pretrained(_translator(), tmp_path / "tr")
    record = json.loads((tr / "config.json").read_text())
    _edit_config(tr, config={**record["config"], "translate": {**record["config"]["translate"], "size": 30}})
    _refused(tr, "multiple of 4")
    _edit_config(tr, config={**record["config"], "direction": "sideways"})
    _refused(tr, "not 'sideways'")


def test_refusals_exit_2_from_the_cli_with_one_line(tmp_path, capsys):
    from brushwork.cli import main

    d = M.save_pretrained(_fast(), tmp_path / "m", backbone="vgg16-hed")
    _edit_config(d, brushwork_model=2)
    assert main(["models", "info", str(d)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1 and "format version 2" in out.err


def test_register_kind_and_importer(tmp_path):
    from brushwork.style.fast import FastConfig, TransformerNet

    class Tiny(TransformerNet):
        kind = "tiny-test"

    M.register_kind("tiny-test", lambda config, record: Tiny(M.config_instance(FastConfig, config)), help="test")
    assert "tiny-test" in M.known_kinds()
    net = Tiny(FastConfig(channels=(4, 4, 4), residual_blocks=1, edge_kernel=3)).eval()
    source = tmp_path / "weights.bin"
    source.write_bytes(b"pretend weights")

    def importer(src, scale=1.0):
        assert src == source and scale == 2.0
        return net, {"how": "made up for a test"}

    M.register_importer("tiny-format", importer, help="test", licence="CC0-1.0")
    out = M.import_model("tiny-format", source, tmp_path / "out", scale=2.0)
    prov = M.read_config(out)["provenance"]
    import hashlib

    assert prov["sha256"] == hashlib.sha256(b"pretend weights").hexdigest() == M.sha256_file(source)
    assert prov["licence"] == "CC0-1.0" and prov["how"] == "made up for a test" and prov["source"] == "weights.bin"
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(M.load(out)(x), net(x))
    with pytest.raises(BrushworkError, match="exists; give --force"):
        M.import_model("tiny-format", source, out, scale=2.0)
    M.import_model("tiny-format", source, out, force=True, scale=2.0)
    with pytest.raises(BrushworkError, match="unknown model format 'nope' \\(known formats: .*tiny-format"):
        M.import_model("nope", source, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_config_validation_errors_become_brushwork_errors():
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        n: int = 1

        def validate(self):
            if self.n < 0:
                raise ValueError("n must be >= 0")
            return self

    assert M.config_instance(Cfg, {"n": 2}).n == 2
    with pytest.raises(BrushworkError, match="not a valid Cfg \\(n must be >= 0\\)"):
        M.config_instance(Cfg, {"n": -1})
    with pytest.raises(BrushworkError, match="not a valid Cfg"):
        M.config_instance(Cfg, {"m": 1})


def test_import_brushwork_stays_light():
    import subprocess
    import sys

    code = "import sys, brushwork; brushwork.load; import brushwork.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
