"""Commands that write one file claim it before any work: an unwritable target is the first error."""

from __future__ import annotations

import pytest

from brushwork.cli import main

COMMANDS = [
    ["gan", "sample", "{run}", "-o", "{out}.png"],
    ["gan", "interpolate", "{run}", "-o", "{out}.png"],
    ["gan", "export", "{run}", "-o", "{out}.onnx"],
    ["eval", "stats", "{run}", "-o", "{out}.npz"],
    ["translate", "export", "{run}", "-o", "{out}.onnx"],
    ["style", "export", "{run}", "-o", "{out}.onnx"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_unwritable_output_fails_before_the_input_is_read(tmp_path, capsys, argv):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    missing_run = tmp_path / "no-such-run"  # would be the error if the output were not checked first
    args = [a.format(run=missing_run, out=blocker / "out") for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write" in err[0] and "a-file" in err[0]
    assert blocker.read_text() == "not a folder"
