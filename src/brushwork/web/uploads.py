"""Checking uploaded images: size, format (by decoding, never by file name) and pixel count."""

from __future__ import annotations

import io
import re

from PIL import Image, UnidentifiedImageError

from ..errors import BrushworkError
from ..imageio import INPUT_FORMATS, load_image

FORMATS = dict(INPUT_FORMATS)
"""Image formats accepted for upload: the command line's (Pillow's name -> the suffix the server saves under)."""


class ApiError(BrushworkError):
    """A bad request with its HTTP status (400 unless said otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _megapixels(n: float) -> str:
    return f"{n / 1e6:.1f} MP"


def _format(data: bytes, field: str, max_pixels: int | None) -> str:
    """Pillow's format name of ``data`` from its header; ApiError for non-images and for
    images so large that Pillow itself refuses to open them (a decompression bomb)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return str(im.format)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{_megapixels(int(found.group(1)))}" if found else "too many pixels"
        limit = f"this server's limit of {_megapixels(max_pixels)}" if max_pixels else "the decoder's safety limit"
        raise ApiError(f"{field}: the image is {size}, over {limit} (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ApiError(f"{field}: not an image, or a format the server cannot read; send {', '.join(FORMATS)}") from None


def check_image(data: bytes, field: str, *, max_bytes: int, max_pixels: int | None) -> str:
    """Check one uploaded image and return the suffix to save it under.

    Raises :class:`ApiError`: 413 over ``max_bytes``; 415 a format outside :data:`FORMATS`
    (decided from the bytes); 400 empty, truncated or corrupt data, or over ``max_pixels``
    (the message gives the image's megapixels and the limit, also for a decompression bomb).
    """
    if not data:
        raise ApiError(f"{field}: the file is empty")
    if len(data) > max_bytes:
        raise ApiError(f"{field}: the file is {len(data) / 1e6:.3g} MB, over the upload limit of {max_bytes / 1e6:.3g} MB", 413)
    fmt = _format(data, field, max_pixels)
    if fmt not in FORMATS:
        raise ApiError(f"{field}: {fmt} images are not accepted; send {', '.join(FORMATS)}", 415)
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
    if max_pixels is not None and w * h > max_pixels:
        raise ApiError(f"{field}: the image is {w}x{h} = {_megapixels(w * h)}, over this server's limit of {_megapixels(max_pixels)}")
    try:
        load_image(data, max_pixels=max_pixels)  # full decode: truncated files fail here
    except BrushworkError as exc:
        raise ApiError(f"{field}: {str(exc).removeprefix('<image>: ')}") from None
    return FORMATS[fmt]
