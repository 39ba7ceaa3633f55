"""Image files in and out: the only place where files become tensors and back.

Loading turns any JPEG, PNG, WebP, TIFF or BMP (and most else Pillow reads) into
an sRGB float tensor of shape ``(3, H, W)`` in ``[0, 1]``:

* EXIF orientation is applied;
* an embedded ICC profile is converted to sRGB (Little CMS through Pillow);
* palette, greyscale, CMYK, 16-bit and float images are converted with their
  full range (a 16-bit greyscale PNG does not turn white);
* alpha is composited on a background colour, and optionally kept so it can be
  re-attached to the output;
* images over a pixel limit are refused from their header, before decoding
  (decompression bombs), and empty, truncated or non-image files raise
  :class:`~brushwork.errors.BrushworkError` with one clear line.

Saving writes PNG, JPEG (quality option), WebP, BMP and 8- or 16-bit TIFF,
atomically (temporary file + rename), tagged as sRGB.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import BrushworkError
from .fsutil import atomic_path
from .memory import check_memory

DEFAULT_MAX_PIXELS = 40_000_000
"""Default pixel limit (40 MP): larger images are refused before decoding."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
"""File endings Brushwork writes (:func:`save_image`)."""

INPUT_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "GIF": ".gif"}
"""Image formats every front end accepts (Pillow's format name -> usual suffix); GIF: first frame."""

INPUT_SUFFIXES = IMAGE_SUFFIXES + (".gif",)
"""File endings treated as images when a folder is given (the :data:`INPUT_FORMATS`)."""

_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}
"""Bytes per pixel of Pillow's decoded buffer by mode; every other mode (RGB, RGBA, CMYK, LA ...) takes 4."""

CONVERT_BYTES_PER_PIXEL = 40
"""Bytes per pixel after the decoder: an 8-bit RGBA copy (4) and three float32 RGB arrays (12 each)."""

ImageSource = Union[str, os.PathLike, bytes, BinaryIO, Image.Image]

_PIL_LIMIT_LOCK = threading.Lock()

_SRGB = ImageCms.createProfile("sRGB")
_SRGB_BYTES = ImageCms.ImageCmsProfile(_SRGB).tobytes()


@dataclass
class LoadedImage:
    """A decoded image.

    ``rgb`` is ``(3, H, W)`` float32 sRGB in ``[0, 1]`` (already composited on the
    background where the file had alpha); ``alpha`` is ``(1, H, W)`` in ``[0, 1]``
    when ``alpha="keep"`` was asked and the file had transparency, else ``None``.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor | None
    name: str
    bit_depth: int = 8

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return int(self.rgb.shape[2]), int(self.rgb.shape[1])


def _name_of(src: ImageSource) -> str:
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    return getattr(src, "name", None) or "<image>"


def _open(src: ImageSource, name: str) -> Image.Image:
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.exists():
            raise BrushworkError(f"{name}: no such file")
        if not path.is_file():
            raise BrushworkError(f"{name}: not a file")
        if path.stat().st_size == 0:
            raise BrushworkError(f"{name}: file is empty")
        fp: BinaryIO | Path = path  # Pillow opens it and closes it once the pixels are loaded
    elif isinstance(src, bytes):
        if not src:
            raise BrushworkError(f"{name}: file is empty")
        fp = io.BytesIO(src)
    else:
        fp = src
    try:
        with _pillow_pixel_limit(None):  # opening reads only the header; load_image checks the size itself
            return Image.open(fp)
    except UnidentifiedImageError:
        raise BrushworkError(f"{name}: not an image, or a format Brushwork cannot read") from None
    except Image.DecompressionBombError as exc:
        raise BrushworkError(f"{name}: image too large ({exc})") from None
    except OSError as exc:
        raise BrushworkError(f"{name}: cannot read image ({exc})") from None


@contextlib.contextmanager
def _pillow_pixel_limit(limit: int | None):
    """Temporarily set Pillow's own decompression-bomb limit (process-global, so under a lock)."""
    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(im: Image.Image, name: str, max_pixels: int | None) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise BrushworkError(f"{name}: image has no pixels ({w}x{h})")
    if max_pixels is not None and w * h > max_pixels:
        raise BrushworkError(
            f"{name}: image is {w}x{h} = {w * h / 1e6:.1f} MP, over the limit of "
            f"{max_pixels / 1e6:.1f} MP (raise it with --max-pixels)"
        )


def decode_memory(im: Image.Image) -> int:
    """Bytes that decoding ``im`` (opened, not yet loaded) will need: the decoder's buffer
    (width x height x Pillow's bytes per pixel, at least bands x bytes per sample) plus
    :data:`CONVERT_BYTES_PER_PIXEL` for the conversion to float RGB."""
    w, h = im.size
    per_pixel = max(_PIXEL_BYTES.get(im.mode, 4), len(im.getbands()))
    if im.format == "TIFF":
        per_pixel += 8  # tifffile's full-precision copy of a 16-bit RGB(A) file
    return w * h * (per_pixel + CONVERT_BYTES_PER_PIXEL)


def _check_memory(im: Image.Image, name: str) -> None:
    w, h = im.size
    check_memory(decode_memory(im), f"{name}: decoding this {w}x{h} image")


def _to_srgb(im: Image.Image, name: str) -> Image.Image:
    """Convert an image with an embedded ICC profile to sRGB (8-bit modes only)."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK", "L", "LA"):
        return im
    try:
        src_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode in ("L", "LA"):
            if im.mode == "LA":
                alpha = im.getchannel("A")
                rgb = ImageCms.profileToProfile(im.convert("L"), src_profile, _SRGB, outputMode="RGB")
                rgb.putalpha(alpha)
                return rgb
            return ImageCms.profileToProfile(im, src_profile, _SRGB, outputMode="RGB")
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(im, src_profile, _SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        warnings.warn(f"{name}: ignoring an ICC profile that cannot be applied ({exc})", stacklevel=3)
        return im


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _to_float_array(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Return ``(rgb HxWx3, alpha HxW or None, bit depth)`` as float32 in [0, 1]."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        g = np.asarray(im, dtype=np.float32) / 65535.0
        return np.repeat(g[..., None], 3, axis=2), None, 16
    if im.mode == "I":
        a = np.asarray(im, dtype=np.float64)
        scale = 65535.0 if a.max(initial=0) > 255 else 255.0
        g = np.clip(a / scale, 0, 1).astype(np.float32)
        return np.repeat(g[..., None], 3, axis=2), None, 16 if scale > 255 else 8
    if im.mode == "F":
        g = np.clip(np.asarray(im, dtype=np.float32), 0, 1)
        return np.repeat(g[..., None], 3, axis=2), None, 32
    if _has_alpha(im):
        a = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        return a[..., :3], a[..., 3], 8
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0, None, 8


def _read_tiff_16bit(src: ImageSource) -> np.ndarray | None:
    """Read a 16-bit RGB(A) TIFF at full precision (Pillow truncates it to 8 bits)."""
    import tifffile

    try:
        if isinstance(src, (str, os.PathLike)):
            arr = tifffile.imread(src)
        elif isinstance(src, bytes):
            arr = tifffile.imread(io.BytesIO(src))
        else:
            return None
    except Exception:  # noqa: BLE001 - fall back to Pillow's reading
        return None
    if arr.dtype != np.uint16 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        return None
    return arr.astype(np.float32) / 65535.0


def load_image(
    src: ImageSource,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    alpha: str = "composite",
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> LoadedImage:
    """Decode an image file (path, bytes, binary file or PIL image) to sRGB floats.

    Args:
        src: what to read.
        max_pixels: refuse images with more pixels than this (``None``: no limit).
        alpha: ``"composite"`` blends transparency onto ``background``;
            ``"keep"`` does the same for ``rgb`` and also returns the alpha channel.
        background: RGB in ``[0, 1]`` under transparent pixels.

    Raises:
        BrushworkError: missing, empty, truncated, non-image or over-limit input.
    """
    if alpha not in ("composite", "keep"):
        raise BrushworkError(f"alpha must be 'composite' or 'keep', not {alpha!r}")
    name = _name_of(src)
    if isinstance(src, Image.Image):
        im = src
    else:
        im = _open(src, name)
    _check_pixels(im, name, max_pixels)
    if not isinstance(src, Image.Image):
        _check_memory(im, name)  # whatever the pixel limit says, never decode past the free memory
    try:
        with _pillow_pixel_limit(None):  # the size was checked above against our own limit
            im.load()
            tiff16 = _read_tiff_16bit(src) if im.format == "TIFF" else None
            im = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BrushworkError(f"{name}: truncated or corrupt image ({exc})") from None
    if tiff16 is not None:
        rgb, a, depth = tiff16[..., :3], (tiff16[..., 3] if tiff16.shape[2] == 4 else None), 16
    else:
        im = _to_srgb(im, name)
        rgb, a, depth = _to_float_array(im)
    rgb_t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).contiguous()
    alpha_t = None
    if a is not None:
        a_t = torch.from_numpy(np.ascontiguousarray(a))[None]
        bg = torch.tensor(background, dtype=torch.float32).view(3, 1, 1)
        rgb_t = rgb_t * a_t + bg * (1 - a_t)
        if alpha == "keep":
            alpha_t = a_t
    return LoadedImage(rgb=rgb_t.clamp(0, 1), alpha=alpha_t, name=name, bit_depth=depth)


def to_pil(image: torch.Tensor, alpha: torch.Tensor | None = None) -> Image.Image:
    """``(3, H, W)`` or ``(1, 3, H, W)`` floats in [0, 1] (+ optional alpha) -> 8-bit PIL image."""
    rgb = _as_chw(image)
    arr = _quantize(rgb, 255).astype(np.uint8)
    if alpha is not None:
        a = _quantize(_match_alpha(alpha, rgb), 255).astype(np.uint8)
        return Image.fromarray(np.concatenate([arr, a], axis=2), "RGBA")
    return Image.fromarray(arr, "RGB")


def _as_chw(image: torch.Tensor) -> torch.Tensor:
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {image.shape[0]}")
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an image of shape (3, H, W), got {tuple(image.shape)}")
    return image.detach().float().cpu()


def _match_alpha(alpha: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    alpha = alpha.detach().float().cpu().reshape(1, 1, *alpha.shape[-2:])
    if alpha.shape[-2:] != rgb.shape[-2:]:
        alpha = F.interpolate(alpha, size=rgb.shape[-2:], mode="bilinear", align_corners=False)
    return alpha[0]


def _quantize(chw: torch.Tensor, top: int) -> np.ndarray:
    return np.rint(chw.clamp(0, 1).permute(1, 2, 0).numpy() * top)


def save_image(
    image: torch.Tensor | Image.Image,
    path: str | os.PathLike,
    *,
    quality: int = 95,
    bit_depth: int = 8,
    alpha: torch.Tensor | None = None,
) -> Path:
    """Write an image atomically; the format follows the file ending.

    Args:
        image: ``(3, H, W)`` / ``(1, 3, H, W)`` floats in [0, 1], or a PIL image.
        path: ``.png``, ``.jpg``/``.jpeg``, ``.webp``, ``.bmp`` or ``.tif``/``.tiff``.
        quality: JPEG/WebP quality, 1..100.
        bit_depth: 8, or 16 (TIFF only).
        alpha: optional ``(1, H, W)`` alpha to re-attach (PNG, WebP, TIFF).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise BrushworkError(f"{path}: unsupported output format {suffix or '(none)'}; use one of {', '.join(IMAGE_SUFFIXES)}")
    if not 1 <= quality <= 100:
        raise BrushworkError(f"quality must be between 1 and 100, not {quality}")
    if bit_depth not in (8, 16):
        raise BrushworkError(f"bit depth must be 8 or 16, not {bit_depth}")
    if bit_depth == 16 and suffix not in (".tif", ".tiff"):
        raise BrushworkError("16-bit output needs a .tif or .tiff file")
    if isinstance(image, Image.Image):
        image = load_image(image, max_pixels=None, alpha="keep").rgb
    if bit_depth == 16:
        rgb = _as_chw(image)
        arr = _quantize(rgb, 65535)
        if alpha is not None:
            arr = np.concatenate([arr, _quantize(_match_alpha(alpha, rgb), 65535)], axis=2)
        import tifffile

        with atomic_path(path, verify=_reads_back(arr.shape[1], arr.shape[0], tiff16=True)) as tmp:
            tifffile.imwrite(tmp, arr.astype(np.uint16), photometric="rgb", iccprofile=_SRGB_BYTES)
        return path
    keep_alpha = alpha is not None and suffix not in (".jpg", ".jpeg", ".bmp")
    pil = to_pil(image, alpha if keep_alpha else None)
    kwargs: dict = {}
    if suffix in (".jpg", ".jpeg"):
        kwargs = {"quality": quality, "subsampling": 0 if quality >= 90 else 2, "icc_profile": _SRGB_BYTES}
    elif suffix == ".webp":
        kwargs = {"quality": quality, "icc_profile": _SRGB_BYTES}
    elif suffix in (".png", ".tif", ".tiff"):
        kwargs = {"icc_profile": _SRGB_BYTES}
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}[suffix]
    with atomic_path(path, verify=_reads_back(*pil.size)) as tmp:
        pil.save(tmp, format=fmt, **kwargs)
    return path


def _reads_back(width: int, height: int, tiff16: bool = False):
    """A check for :func:`~brushwork.fsutil.atomic_path`: the written file decodes whole at
    ``width`` x ``height`` (a writer on a full disk may end without an error but truncated)."""

    def verify(tmp: Path) -> None:
        if tiff16:
            import tifffile

            shape = tifffile.imread(tmp).shape
            if shape[:2] != (height, width):
                raise ValueError(f"reads back as {shape}")
            return
        with _pillow_pixel_limit(None), Image.open(tmp) as im:
            if im.size != (width, height):
                raise ValueError(f"reads back as {im.size[0]}x{im.size[1]}")
            im.load()

    return verify


def resize_long_side(image: torch.Tensor, long_side: int) -> torch.Tensor:
    """Resize ``(..., 3, H, W)`` so its longer side is ``long_side`` px (antialiased, aspect kept)."""
    h, w = image.shape[-2:]
    scale = long_side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return resize(image, size)


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(3, H, W)`` or ``(N, 3, H, W)`` to ``size = (H, W)`` with antialiased bicubic."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    batched = image.dim() == 4
    x = image if batched else image[None]
    y = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    return y if batched else y[0]


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (by ending), sorted by path."""
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
