"""``adain-naoto``: naoto0804/pytorch-AdaIN's ``decoder.pth`` and ``vgg_normalised.pth`` as one
Brushwork ``adain`` model that carries its own encoder.

SOURCE is a folder holding both files, or one of them with the other beside it; the options
``decoder=PATH`` and ``vgg=PATH`` name either file explicitly. The decoder goes into
:class:`~brushwork.style.adain.Decoder` (arch ``vgg19``, width 1: the same layers, reflection
padding and nearest x2 up-sampling), the encoder into
:class:`~brushwork.backbones.vgg_normalised.NormalisedVGG19`, stored with the decoder
(config ``encoder: "vgg19-normalised"``, backbone ``vgg19-normalised``), so the model folder is
self-contained and ``brushwork stylize --method adain --model DIR`` uses that encoder. The
feature statistics use Bessel's correction, as the original ``calc_mean_std``.

Key lists (``net.py``): the decoder ``nn.Sequential`` has convolutions at indices
1 (256, 512), 5, 8, 11 (256, 256), 14 (128, 256), 18 (128, 128), 21 (64, 128), 25 (64, 64) and
28 (3, 64), all 3x3; the encoder at 0 (3, 3, 1x1), 2 (64, 3), 5 (64, 64), 9 (128, 64),
12 (128, 128), 16 (256, 128), 19, 22, 25 (256, 256), 29 (512, 256), and in the published file
also 32, 35, 38, 42, 45, 48, 51 (512, 512): those layers past ``relu4_1`` are dropped, as the
original ``test.py`` does. Each convolution has ``.weight`` and ``.bias``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...backbones.vgg_normalised import conv_shapes
from ...errors import BrushworkError
from ...style.adain import AdaINConfig, Decoder
from .. import register_importer, sha256_file
from ._pth import check_keys, float_tensors, read_state_dict

FORMAT = "adain-naoto"
LICENCE = "MIT"
DECODER, VGG = "decoder.pth", "vgg_normalised.pth"
CONFIG = AdaINConfig(arch="vgg19", width=1.0, encoder="vgg19-normalised")
# published decoder index -> (Brushwork Decoder.net index, out, in)
_DECODER = {1: (0, 256, 512), 5: (3, 256, 256), 8: (5, 256, 256), 11: (7, 256, 256), 14: (9, 128, 256),
            18: (12, 128, 128), 21: (14, 64, 128), 25: (17, 64, 64), 28: (19, 3, 64)}
_DEEP = (32, 35, 38, 42, 45, 48, 51)  # encoder convolutions past relu4_1 (512 -> 512, 3x3)


def decoder_shapes() -> dict[str, tuple[int, ...]]:
    """Every key of the published ``decoder.pth`` with its shape."""
    out: dict[str, tuple[int, ...]] = {}
    for i, (_, cout, cin) in _DECODER.items():
        out[f"{i}.weight"], out[f"{i}.bias"] = (cout, cin, 3, 3), (cout,)
    return out


def vgg_shapes(full: bool = True) -> dict[str, tuple[int, ...]]:
    """Every key of the published ``vgg_normalised.pth`` (``full``: all 53 layers, else up to relu4_1)."""
    convs = {i: (cout, cin, k, k) for i, (cin, cout, k) in conv_shapes().items()}
    if full:
        convs.update({i: (512, 512, 3, 3) for i in _DEEP})
    out: dict[str, tuple[int, ...]] = {}
    for i in sorted(convs):
        out[f"{i}.weight"], out[f"{i}.bias"] = convs[i], convs[i][:1]
    return out


def _paths(source: Path, decoder: str | None, vgg: str | None) -> tuple[Path, Path]:
    folder = source if source.is_dir() else source.parent
    dec = Path(decoder) if decoder else (source if source.is_file() and source.name != VGG else folder / DECODER)
    enc = Path(vgg) if vgg else (source if source.is_file() and source.name == VGG else folder / VGG)
    for path, name in ((dec, "decoder"), (enc, "vgg")):
        if not path.is_file():
            raise BrushworkError(f"{path}: no such file (adain-naoto needs {DECODER} and {VGG} in SOURCE, or the option {name}=PATH)")
    return dec, enc


def convert(dec_state: dict[str, torch.Tensor], vgg_state: dict[str, torch.Tensor], dec_path: Path | str,
            vgg_path: Path | str) -> tuple[Decoder, int]:
    """The decoder with its encoder, and how many encoder keys past ``relu4_1`` were dropped.
    BrushworkError (one line) for keys that do not fit either file's published list."""
    check_keys(dec_state, decoder_shapes(), dec_path, "a pytorch-AdaIN decoder.pth")
    deep = any(k.split(".")[0].isdigit() and int(k.split(".")[0]) > 30 for k in vgg_state)
    check_keys(vgg_state, vgg_shapes(full=deep), vgg_path, "a pytorch-AdaIN vgg_normalised.pth")
    tensors: dict[str, torch.Tensor] = {}
    for i, (ours, _, _) in _DECODER.items():
        for p in ("weight", "bias"):
            tensors[f"net.{ours}.{p}"] = dec_state[f"{i}.{p}"]
    kept = {k: v for k, v in vgg_state.items() if int(k.split(".")[0]) <= 30}
    tensors.update({f"encoder.layers.{k}": v for k, v in kept.items()})
    net = Decoder(CONFIG)
    net.load_state_dict(float_tensors(tensors), strict=True)
    return net.eval().requires_grad_(False), len(vgg_state) - len(kept)


def import_adain(source: Path, decoder: str | None = None, vgg: str | None = None, **options: Any) -> tuple[Decoder, dict[str, Any]]:
    """Import naoto0804/pytorch-AdaIN's decoder and encoder as one ``adain`` model.

    Args:
        source: a folder with ``decoder.pth`` and ``vgg_normalised.pth``, or one of the files.
        decoder, vgg: paths that override where each file is looked for.

    Returns the decoder (holding the encoder) and its provenance, with each file's SHA-256.
    Raises BrushworkError (one line) for a missing, refused or unreadable file, or keys that
    do not fit.
    """
    if options:
        raise BrushworkError(f"{FORMAT} takes only the options decoder and vgg (got {', '.join(sorted(options))})")
    dec_path, vgg_path = _paths(Path(source), decoder, vgg)
    dec_state = read_state_dict(dec_path, "a pytorch-AdaIN decoder")
    vgg_state = read_state_dict(vgg_path, "a pytorch-AdaIN vgg_normalised")
    net, dropped = convert(dec_state, vgg_state, dec_path, vgg_path)
    net.backbone = "vgg19-normalised"  # type: ignore[attr-defined]  # stored in the folder, not a registry name
    provenance = {
        "how": "imported from naoto0804/pytorch-AdaIN (decoder.pth + vgg_normalised.pth, encoder stored with the decoder)",
        "licence": LICENCE,
        "code": "https://github.com/naoto0804/pytorch-AdaIN",
        "files": {dec_path.name: sha256_file(dec_path), vgg_path.name: sha256_file(vgg_path)},
        "dropped_keys": dropped,
        "statistics": "feature standard deviations with Bessel's correction, as the original calc_mean_std",
    }
    return net, provenance


register_importer(FORMAT, import_adain, licence=LICENCE,
                  help="naoto0804/pytorch-AdaIN decoder.pth + vgg_normalised.pth (a folder with both) -> adain with its own encoder")
