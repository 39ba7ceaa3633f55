"""Frame-by-frame video stylisation with PyAV (FFmpeg bundled in the wheel).

Decodes the video stream, passes every frame through a function (a feed-forward style
model), re-encodes it (H.264 where available, else MPEG-4) at the source frame rate, and
copies the audio packets unchanged. Optional temporal smoothing blends each output frame
with the previous one (an exponential moving average) to damp flicker. The output is
written through a temporary file: a video that cannot be decoded leaves nothing behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import BrushworkError
from .fsutil import atomic_path

FrameFn = Callable[[torch.Tensor], torch.Tensor]
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")
_FORMATS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".avi": "avi", ".webm": "webm"}


@dataclass
class VideoResult:
    """What :func:`stylize_video` wrote: frames, frame size, frame rate, and whether audio was kept."""

    path: Path
    frames: int
    size: tuple[int, int]
    fps: float
    audio: bool


def _av():
    try:
        import av
    except ImportError:
        raise BrushworkError("video needs PyAV: pip install av") from None
    return av


def frame_to_tensor(frame) -> torch.Tensor:
    """A decoded PyAV video frame -> ``(3, H, W)`` float RGB in [0, 1]."""
    return torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255.0


def tensor_to_array(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` in [0, 1] -> ``(H, W, 3)`` uint8, cropped to even sides (yuv420p needs them)."""
    h, w = image.shape[-2:]
    arr = (image[:, : h - h % 2, : w - w % 2].clamp(0, 1) * 255).round().to(torch.uint8)
    return arr.permute(1, 2, 0).contiguous().numpy()


def _open_input(src: Path):
    av = _av()
    if not src.is_file():
        raise BrushworkError(f"{src}: no such video file")
    try:
        container = av.open(str(src))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise BrushworkError(f"{src}: cannot decode this video ({type(exc).__name__})") from None
    if not container.streams.video:
        container.close()
        raise BrushworkError(f"{src}: has no video stream")
    return container


def stylize_video(src: str | os.PathLike, dst: str | os.PathLike, fn: FrameFn, *, smoothing: float = 0.0, max_frames: int | None = None,
                  crf: int = 20, on_frame: Callable[[int, int], None] | None = None) -> VideoResult:
    """Write ``dst``: every frame of ``src`` through ``fn``, audio copied.

    Args:
        fn: ``(3, H, W)`` in [0, 1] -> stylised ``(3, H', W')`` (same size for every frame).
        smoothing: 0 (off) to <1; output = (1 - s) * this frame + s * previous output.
        max_frames: stop after this many frames (and audio up to that time).
        crf: H.264 quality (lower is better, 18-28 sensible).
        on_frame: called as ``on_frame(done, total)`` after each frame (total 0 when unknown).

    Raises:
        BrushworkError: unreadable input, no video stream, bad options; nothing is written then.
    """
    av = _av()
    src, dst = Path(src), Path(dst)
    if dst.suffix.lower() not in _FORMATS:
        raise BrushworkError(f"{dst}: unsupported video format; use one of {', '.join(VIDEO_SUFFIXES)}")
    if not 0.0 <= smoothing < 1.0:
        raise BrushworkError(f"smoothing must be in [0, 1), not {smoothing}")
    inp = _open_input(src)
    try:
        with atomic_path(dst, verify=lambda tmp: _check_written(av, tmp)) as tmp:
            return _transcode(av, inp, tmp, dst, fn, smoothing, max_frames, crf, on_frame)
    except av.error.FFmpegError as exc:
        raise BrushworkError(f"{src}: cannot decode this video ({type(exc).__name__}: {exc})") from None
    finally:
        inp.close()


def _check_written(av, tmp: Path) -> None:
    """The written file opens and has a video stream (a full disk can leave a torn container)."""
    with av.open(str(tmp)) as check:
        if not check.streams.video:
            raise ValueError("no video stream")


def _transcode(av, inp, tmp: Path, dst: Path, fn: FrameFn, smoothing: float, max_frames: int | None, crf: int, on_frame) -> VideoResult:
    vin = inp.streams.video[0]
    ain = inp.streams.audio[0] if inp.streams.audio else None
    rate = vin.average_rate or vin.guessed_rate or 24
    total = min(vin.frames or 0, max_frames or vin.frames or 0)
    out = av.open(str(tmp), mode="w", format=_FORMATS[dst.suffix.lower()])
    vout, aout, prev, n = None, None, None, 0
    end_time = None if max_frames is None else max_frames / float(rate)
    pending: list = []  # audio packets read before the video stream (and so the file header) exists
    try:
        if ain is not None:
            aout = out.add_stream_from_template(ain)
        streams = [vin] + ([ain] if ain is not None else [])
        for packet in inp.demux(*streams):
            if packet.stream.type == "audio":
                if packet.dts is not None and (end_time is None or packet.pts * packet.time_base < end_time):
                    packet.stream = aout
                    if vout is None:
                        pending.append(packet)
                    else:
                        out.mux(packet)
                continue
            if max_frames is not None and n >= max_frames:
                continue
            for frame in packet.decode():
                if max_frames is not None and n >= max_frames:
                    break
                y = fn(frame_to_tensor(frame))
                if smoothing and prev is not None and prev.shape == y.shape:
                    y = (1 - smoothing) * y + smoothing * prev
                prev = y
                arr = tensor_to_array(y)
                if vout is None:
                    vout = _video_stream(av, out, rate, arr.shape[1], arr.shape[0], crf)
                    for p in pending:
                        out.mux(p)
                out.mux(vout.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
                n += 1
                if on_frame is not None:
                    on_frame(n, total)
        if vout is None:
            raise BrushworkError(f"{inp.name}: no video frame could be decoded")
        out.mux(vout.encode(None))
    finally:
        out.close()
    return VideoResult(dst, n, (int(vout.width), int(vout.height)), float(rate), aout is not None)


def _video_stream(av, out, rate, width: int, height: int, crf: int):
    codec = "libx264" if "libx264" in av.codec.codecs_available else "mpeg4"
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    if codec == "libx264":
        stream.options = {"crf": str(crf), "preset": "veryfast"}
    return stream
