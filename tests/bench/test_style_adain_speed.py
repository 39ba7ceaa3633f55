"""AdaIN's fast inference paths compute what the textbook forms compute."""

from __future__ import annotations

import torch

from brushwork.style import adain as A
from brushwork.models import save_pretrained
from conftest import needs_hed


def _decoder(arch: str = "vgg16", width: float = 0.125) -> A.Decoder:
    torch.manual_seed(5)
    return A.Decoder(A.AdaINConfig(arch=arch, width=width)).eval()


def test_decoder_forward_equals_upsample_then_convolve():
    for arch in ("vgg16", "vgg19"):
        dec = _decoder(arch)
        x = torch.rand(2, 512, 5, 7) * 2
        with torch.no_grad():
            torch.testing.assert_close(dec(x), dec.reference(x), atol=1e-5, rtol=1e-4)


def test_bfloat16_decoder_runs_in_bfloat16_inside_autocast_and_stays_close():
    dec = _decoder()
    x = torch.rand(1, 512, 6, 6) * 2
    with torch.no_grad():
        want = dec.reference(x)
        dec.to(torch.bfloat16)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = dec(x)
    assert got.dtype == torch.bfloat16 and got.shape == want.shape
    # bfloat16 keeps 8 significant bits: a few parts in a thousand of the output's range
    assert float((got.float() - want).abs().max()) < 0.02 * float(want.abs().max())


def test_keep_freed_memory_takes_effect_on_glibc_once():
    import platform

    from brushwork.style.feedforward import keep_freed_memory

    first = keep_freed_memory()
    assert keep_freed_memory() is first  # set once per process
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert first is True


@needs_hed
def test_feedforward_bfloat16_matches_float32(tmp_path):
    from brushwork.style.feedforward import FeedForward, FFOptions

    d = save_pretrained(_decoder(width=0.25), tmp_path / "m", backbone="vgg16-hed")
    g = torch.Generator().manual_seed(2)
    content, style = torch.rand(3, 48, 40, generator=g), torch.rand(3, 32, 32, generator=g)
    fp32 = FeedForward(d, precision="float32")(content, [style], FFOptions())
    ff = FeedForward(d, precision="bfloat16")
    assert ff.net.net[0].weight.dtype == torch.bfloat16
    bf16 = ff(content, [style], FFOptions())
    assert bf16.dtype == torch.float32 and bf16.shape == fp32.shape == (3, 48, 40)
    assert float((bf16 - fp32).abs().max()) < 0.05
