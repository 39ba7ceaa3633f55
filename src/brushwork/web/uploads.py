"""Checking uploaded images: size, format (by decoding, never by file name) and pixel count."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from ..errors import BrushworkError
from ..imageio import load_image

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
"""Image formats accepted for upload (Pillow's name -> the suffix the server saves under)."""


class ApiError(BrushworkError):
    """A bad request with its HTTP status (400 unless said otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_image(data: bytes, field: str, *, max_bytes: int, max_pixels: int | None) -> str:
    """Check one uploaded image and return the suffix to save it under.

    Raises :class:`ApiError`: 413 over ``max_bytes``; 415 a format outside :data:`FORMATS`
    (decided from the bytes); 400 empty, truncated or corrupt data or over ``max_pixels``.
    """
    if not data:
        raise ApiError(f"{field}: the file is empty")
    if len(data) > max_bytes:
        raise ApiError(f"{field}: the file is {len(data) / 1e6:.3g} MB, over the upload limit of {max_bytes / 1e6:.3g} MB", 413)
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ApiError(f"{field}: not an image, or a format the server cannot read") from None
    if fmt not in FORMATS:
        raise ApiError(f"{field}: {fmt} images are not accepted; send {', '.join(FORMATS)}", 415)
    try:
        load_image(data, max_pixels=max_pixels)  # full decode: truncated files fail here
    except BrushworkError as exc:
        raise ApiError(f"{field}: {str(exc).removeprefix('<image>: ')}") from None
    return FORMATS[fmt]
