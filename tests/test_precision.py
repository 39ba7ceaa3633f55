"""Compute precision: resolution of "auto", autocast contexts, and bfloat16 stylisation."""

import pytest
import torch

from brushwork.errors import BrushworkError
from brushwork.precision import autocast, fast_bf16, resolve_precision
from brushwork.style.optimize import StyleOptions


def test_resolve_explicit_and_auto():
    assert resolve_precision("float32", "cpu") == "float32"
    assert resolve_precision("bfloat16", "cpu") == "bfloat16"
    assert resolve_precision("auto", "cpu") == ("bfloat16" if fast_bf16("cpu") else "float32")
    with pytest.raises(BrushworkError, match="precision must be one of"):
        resolve_precision("half", "cpu")


def test_autocast_changes_matmul_dtype_only_for_bfloat16():
    a = torch.randn(4, 4)
    with autocast("float32", "cpu"):
        assert (a @ a).dtype == torch.float32
    with autocast("bfloat16", "cpu"):
        assert (a @ a).dtype == torch.bfloat16


def test_style_options_reject_unknown_precision():
    with pytest.raises(BrushworkError, match="precision"):
        StyleOptions(precision="fp8").validate()
