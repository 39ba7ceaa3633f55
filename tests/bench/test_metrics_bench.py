"""`brushwork bench features` runs and reports what it measured (never asserts on timings)."""

from __future__ import annotations

import json

from brushwork.cli import main


def test_bench_features_reports_throughput_and_fid_time(capsys):
    args = ["bench", "features", "--spaces", "classifier", "--batch-size", "4", "--batches", "1",
            "--image-size", "16", "--fid-n", "300", "--device", "cpu"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = report["spaces"]
    assert (row["features"], row["dim"], row["input_px"]) == ("classifier:example", 128, 32)
    assert row["images_per_s"] > 0 and "random weights" in row["weights"]
    fid = report["fid"]
    assert (fid["n"], fid["dim"], fid["target_s"]) == (300, 2048, 5.0)
    assert fid["seconds"] > 0 and fid["value"] > 0
    assert main(args) == 0
    assert "FID 300 vs 300 x 2048-d" in capsys.readouterr().out


def test_bench_features_refuses_unknown_spaces(capsys):
    assert main(["bench", "features", "--spaces", "nope"]) == 2
    assert "unknown nope" in capsys.readouterr().err
