"""Image I/O: formats, orientation, modes, ICC, alpha, limits and bad files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from brushwork.errors import BrushworkError
from brushwork.imageio import load_image, save_image

from conftest import write_rgb


def _as_uint8(t: torch.Tensor) -> np.ndarray:
    return np.rint(t.permute(1, 2, 0).numpy() * 255).astype(np.int64)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp"])
def test_lossless_formats_round_trip(tmp_path, gradient_rgb, suffix):
    kwargs = {"lossless": True} if suffix == ".webp" else {}
    path = write_rgb(tmp_path / f"a{suffix}", gradient_rgb, **kwargs)
    img = load_image(path)
    assert img.rgb.shape == (3, 24, 32) and img.rgb.dtype == torch.float32
    assert np.array_equal(_as_uint8(img.rgb), gradient_rgb)
    assert img.size == (32, 24)


def test_jpeg_loads_close(tmp_path, gradient_rgb):
    path = write_rgb(tmp_path / "a.jpg", gradient_rgb, quality=98, subsampling=0)
    assert np.abs(_as_uint8(load_image(path).rgb) - gradient_rgb).mean() < 3


def test_exif_orientation_applied(tmp_path, gradient_rgb):
    im = Image.fromarray(gradient_rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    im.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=98, subsampling=0)
    img = load_image(tmp_path / "o.jpg")
    assert img.size == (24, 32)
    expected = np.rot90(gradient_rgb, k=-1)
    assert np.abs(_as_uint8(img.rgb) - expected).mean() < 3


def test_palette_and_grayscale(tmp_path, gradient_rgb):
    Image.fromarray(gradient_rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(tmp_path / "p.png")
    p = load_image(tmp_path / "p.png")
    assert p.rgb.shape == (3, 24, 32) and p.rgb.std() > 0.05
    Image.fromarray(gradient_rgb[..., 0]).save(tmp_path / "g.png")
    g = load_image(tmp_path / "g.png")
    assert torch.equal(g.rgb[0], g.rgb[1]) and torch.equal(g.rgb[1], g.rgb[2])
    assert np.array_equal(_as_uint8(g.rgb)[..., 0], gradient_rgb[..., 0])


def test_cmyk_converts_to_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)  # pure red ink-free cyan=0
    rgb = load_image(tmp_path / "c.jpg").rgb.mean(dim=(1, 2))
    assert rgb[0] > 0.9 and rgb[1] < 0.1 and rgb[2] < 0.1


def test_16bit_greyscale_keeps_its_range(tmp_path):
    arr = np.full((6, 6), 32768, dtype=np.uint16)  # mid grey in 16 bits
    Image.fromarray(arr).save(tmp_path / "g16.png")
    img = load_image(tmp_path / "g16.png")
    assert img.bit_depth == 16
    assert torch.allclose(img.rgb, torch.full_like(img.rgb, 32768 / 65535), atol=1e-6)


def test_16bit_tiff_round_trip_at_full_precision(tmp_path):
    rng = np.random.default_rng(0)
    rgb = torch.from_numpy(rng.random((3, 10, 12), dtype=np.float32))
    save_image(rgb, tmp_path / "x.tif", bit_depth=16)
    back = load_image(tmp_path / "x.tif")
    assert back.bit_depth == 16
    assert (back.rgb - rgb).abs().max() < 1 / 65535  # far finer than 8-bit steps (1/255)


def test_alpha_composite_and_keep(tmp_path):
    arr = np.zeros((4, 4, 4), dtype=np.uint8)
    arr[..., 0] = 255  # red
    arr[:, :2, 3] = 255  # left half opaque, right half transparent
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    comp = load_image(tmp_path / "a.png", background=(0.0, 0.0, 1.0))
    assert comp.alpha is None
    assert torch.allclose(comp.rgb[:, 0, 0], torch.tensor([1.0, 0, 0]))
    assert torch.allclose(comp.rgb[:, 0, 3], torch.tensor([0.0, 0, 1.0]))
    kept = load_image(tmp_path / "a.png", alpha="keep")
    assert kept.alpha is not None and kept.alpha.shape == (1, 4, 4)
    assert kept.alpha[0, 0, 0] == 1 and kept.alpha[0, 0, 3] == 0
    save_image(kept.rgb, tmp_path / "out.png", alpha=kept.alpha)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png"))[..., 3], arr[..., 3])


def _icc_swapped_primaries() -> bytes:
    """An ICC v2 RGB matrix/TRC profile whose red and blue primaries are sRGB's blue and red."""
    srgb_d50 = {"r": (0.4361, 0.2225, 0.0139), "g": (0.3851, 0.7169, 0.0971), "b": (0.1431, 0.0606, 0.7141)}

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(v) -> bytes:
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in v)

    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", 256)  # gamma 1.0 -> u8Fixed8 = 256? use 2.2 below
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(2.2 * 256)) + b"\0\0"
    desc_text = b"swapped\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(desc_text)) + desc_text + b"\0" * 4 + b"\0" * 4 + b"\0" * 2 + b"\0" + b"\0" * 67
    tags = [
        (b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(srgb_d50["b"])), (b"gXYZ", xyz(srgb_d50["g"])), (b"bXYZ", xyz(srgb_d50["r"])),
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = struct.pack(">I", size) + b"none" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + b"\0" * 12
    header += b"acsp" + b"\0" * 4 + struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
    header += s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28
    assert len(header) == 128
    return header + body


def test_icc_profile_converted_to_srgb(tmp_path):
    icc = _icc_swapped_primaries()
    ImageCms.ImageCmsProfile(io.BytesIO(icc))  # a valid profile for Little CMS
    Image.new("RGB", (4, 4), (255, 0, 0)).save(tmp_path / "icc.png", icc_profile=icc)
    rgb = load_image(tmp_path / "icc.png").rgb.mean(dim=(1, 2))
    # "red" in the swapped profile is sRGB blue
    assert rgb[2] > 0.8 and rgb[0] < 0.2


def _png_header_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def test_pixel_limit_checked_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_claiming(100_000, 100_000))
    with pytest.raises(BrushworkError, match="over the limit of 40.0 MP"):
        load_image(path)
    write_rgb(tmp_path / "small.png", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(BrushworkError, match="over the limit"):
        load_image(tmp_path / "small.png", max_pixels=399)
    assert load_image(tmp_path / "small.png", max_pixels=400).size == (20, 20)


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
])
def test_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(BrushworkError, match=match):
        load_image(path)


def test_truncated_and_missing(tmp_path, gradient_rgb):
    path = write_rgb(tmp_path / "t.jpg", np.tile(gradient_rgb, (8, 8, 1)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrushworkError, match="truncated or corrupt"):
        load_image(path)
    with pytest.raises(BrushworkError, match="no such file"):
        load_image(tmp_path / "nope.jpg")


def test_save_formats_and_atomicity(tmp_path, gradient_rgb):
    rgb = torch.from_numpy(gradient_rgb).permute(2, 0, 1).float() / 255
    low = save_image(rgb, tmp_path / "q10.jpg", quality=10).stat().st_size
    high = save_image(rgb, tmp_path / "q95.jpg", quality=95).stat().st_size
    assert low < high
    assert Image.open(tmp_path / "q95.jpg").info.get("icc_profile")  # tagged as sRGB
    with pytest.raises(BrushworkError, match="16-bit output"):
        save_image(rgb, tmp_path / "x.png", bit_depth=16)
    with pytest.raises(ValueError):
        save_image(torch.zeros(2, 3, 4, 4), tmp_path / "batch.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q10.jpg", "q95.jpg"]  # no temp files, no partial output
