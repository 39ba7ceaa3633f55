"""`brushwork models list|info|import|formats` end to end on tiny folders."""

import hashlib
import json

import pytest
import torch

from brushwork import models as M
from brushwork.cli import main
from brushwork.style.fast import FastConfig, TransformerNet


def _net(seed=0):
    torch.manual_seed(seed)
    return TransformerNet(FastConfig(channels=(4, 4, 4), residual_blocks=1, edge_kernel=3)).eval()


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "lib"
    M.save_pretrained(_net(), root / "a", backbone="vgg16-hed", provenance={"how": "test", "licence": "MIT"})
    M.save_pretrained(_net(1), root / "deep" / "b", half=True, backbone="vgg16-hed")
    (root / "run").mkdir()
    (root / "run" / "config.json").write_text(json.dumps({"not": "a model"}))  # ignored: no brushwork_model
    return root


def test_list_shows_packaged_models_and_folders_under_a_path(library, capsys):
    assert main(["models", "list", str(library), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    mine = {r["name"]: r for r in rows if not r["packaged"]}
    assert set(mine) == {"a", "deep/b"}
    per_net = sum(p.numel() for p in _net().parameters())
    assert mine["a"]["kind"] == "fast" and mine["a"]["parameters"] == per_net and mine["deep/b"]["dtype"] == "float16"
    assert {r["name"] for r in rows if r["packaged"]} == set(M.packaged_models())
    assert main(["models", "list", str(library)]) == 0
    text = capsys.readouterr().out
    assert "deep/b" in text and f"{per_net:,} params" in text


def test_info_prints_kind_config_backbone_provenance_and_parameters(library, capsys):
    assert main(["models", "info", str(library / "a"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "fast" and info["backbone"] == "vgg16-hed" and info["provenance"] == {"how": "test", "licence": "MIT"}
    assert info["config"]["channels"] == [4, 4, 4] and info["parameters"] == sum(p.numel() for p in _net().parameters())
    assert main(["models", "info", str(library / "a")]) == 0
    text = capsys.readouterr().out
    assert "fast model" in text and "licence: MIT" in text and "backbone: vgg16-hed" in text


def test_info_refuses_a_folder_that_is_not_a_model(tmp_path, capsys):
    assert main(["models", "info", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1 and "not a Brushwork model folder" in out.err


def test_import_dispatches_to_the_registered_importer(tmp_path, capsys):
    source = tmp_path / "net.bin"
    source.write_bytes(b"weights of some other project")
    seen = {}

    def importer(src, **options):
        seen.update(options)
        return _net(), {"how": "imported for a test", "licence": "BSD-3-Clause"}

    M.register_importer("test-cli-format", importer, help="a test format")
    out = tmp_path / "imported"
    assert main(["models", "import", "test-cli-format", str(source), "-o", str(out), "--option", "scale=255", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert seen == {"scale": 255}
    assert info["provenance"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert info["provenance"]["licence"] == "BSD-3-Clause" and info["provenance"]["source"] == "net.bin"
    before = (out / "model.safetensors").read_bytes()
    assert main(["models", "import", "test-cli-format", str(source), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists; give --force" in err and (out / "model.safetensors").read_bytes() == before
    assert main(["models", "import", "test-cli-format", str(source), "-o", str(out), "--force"]) == 0
    assert "imported" in capsys.readouterr().out


def test_a_failing_importer_leaves_nothing_behind(tmp_path, capsys):
    from brushwork.errors import BrushworkError

    def broken(src, **options):
        raise BrushworkError(f"{src}: not a test-broken file")

    M.register_importer("test-broken", broken)
    source = tmp_path / "x.pth"
    source.write_bytes(b"")
    assert main(["models", "import", "test-broken", str(source), "-o", str(tmp_path / "out")]) == 2
    assert "not a test-broken file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pth"]


def test_unknown_format_lists_the_known_ones(tmp_path, capsys):
    (tmp_path / "x").write_bytes(b"")
    assert main(["models", "import", "no-such-format", str(tmp_path / "x"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    known = ", ".join(M.known_importers())
    assert len(err.splitlines()) == 1 and f"known formats: {known}" in err
    assert main(["models", "formats", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert set(listed["formats"]) == set(M.known_importers()) and {"fast", "adain", "translator"} <= set(listed["kinds"])


def test_import_without_source_uses_the_importers_default(tmp_path, capsys):
    calls = []

    def fake(source, **options):
        calls.append(source)
        return TransformerNet(FastConfig(channels=(4, 8, 8), residual_blocks=1, edge_kernel=3)), {"how": "test"}

    src = tmp_path / "installed.bin"
    src.write_bytes(b"weights")
    M.register_importer("test-default-source", fake, default_source=lambda: src)
    assert main(["models", "import", "test-default-source", "-o", str(tmp_path / "m"), "--json"]) == 0
    assert calls == [src]
    assert json.loads(capsys.readouterr().out)["provenance"]["sha256"] == hashlib.sha256(b"weights").hexdigest()
    M.register_importer("test-no-default", fake)
    assert main(["models", "import", "test-no-default", "-o", str(tmp_path / "n")]) == 2
    assert "give the SOURCE" in capsys.readouterr().err and not (tmp_path / "n").exists()
