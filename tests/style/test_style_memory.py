"""The memory check refuses a stylisation that cannot fit, naming a size that does."""

import re

import pytest

from brushwork.errors import BrushworkError
from brushwork.style.memory import estimate_bytes, check_fits


def test_estimate_grows_with_pixels():
    assert estimate_bytes((1024, 1024)) - estimate_bytes((512, 512)) == 3 * (estimate_bytes((512, 512)) - estimate_bytes((0, 0)))


def test_refusal_names_a_size_that_fits():
    budget = estimate_bytes((1000, 1000))
    with pytest.raises(BrushworkError, match=r"needs about .* GB .* free; use --size (\d+) or less") as err:
        check_fits((2000, 3000), "cpu", available=budget)
    suggested = int(re.search(r"--size (\d+)", str(err.value)).group(1))
    h, w = round(2000 * suggested / 3000), suggested
    assert estimate_bytes((h, w)) <= budget
    assert estimate_bytes((round(2000 * (suggested + 32) / 3000), suggested + 32)) > budget
    check_fits((1000, 1000), "cpu", available=budget)  # fits: no error


def test_cli_refuses_before_writing(tmp_path, monkeypatch, capsys):
    import numpy as np
    from conftest import write_rgb

    from brushwork import cli
    from brushwork.style import memory

    rng = np.random.default_rng(0)
    content = write_rgb(tmp_path / "c.png", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    style = write_rgb(tmp_path / "s.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    monkeypatch.setattr(memory, "available_bytes", lambda device: memory.BASE_BYTES + 10)
    out = tmp_path / "out.png"
    assert cli.main(["stylize", str(content), str(style), "-o", str(out), "--size", "64", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "free some memory first" in err[0]
    assert not out.exists()
