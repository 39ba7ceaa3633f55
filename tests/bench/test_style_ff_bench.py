"""`brushwork bench infer`: the JSON report has every kind and size (timings are not asserted)."""

from __future__ import annotations

import json

from brushwork.cli import main
from conftest import needs_hed


@needs_hed
def test_bench_infer_reports_every_kind_and_size(capsys):
    code = main(["bench", "infer", "--sizes", "32,48", "--repeats", "1", "--no-optimize", "--threads", "1", "--kinds", "fast_light,fast,adain", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for kind in ("fast_light", "fast", "adain", "fast_light_bfloat16", "adain_bfloat16"):
        assert set(report[kind]) == {"model", "load_s", "32", "48"} and report[kind]["load_s"] > 0 and all(report[kind][s] > 0 for s in ("32", "48"))
    for q in report["precision_change"].values():
        assert 0 <= q["max_abs_diff"] <= 1
    assert report["device"].startswith("cpu") and len(report["load_average"]) == 3
    assert not {"wct", "gram", "magenta"} & set(report)  # only the kinds asked for


@needs_hed
def test_bench_infer_times_the_arbitrary_style_kinds(capsys):
    code = main(["bench", "infer", "--sizes", "32", "--precision", "float32", "--repeats", "1", "--no-optimize",
                 "--threads", "1", "--kinds", "wct,gram", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for kind in ("wct", "gram"):
        assert report[kind]["32"] > 0 and report[kind]["load_s"] > 0
    assert main(["bench", "infer", "--kinds", "nope"]) == 2
