"""Video stylisation: a round trip on a few generated frames (with audio), bad input, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brushwork.cli import main
from brushwork.errors import BrushworkError

av = pytest.importorskip("av")

from brushwork.video import stylize_video  # noqa: E402

FRAMES, W, H, FPS = 6, 64, 48, 12


def _frame(i: int) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return np.stack([(x * 4 + i * 20) % 256, y * 5, np.full_like(x, 40 + 30 * i)], axis=2).astype(np.uint8)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 6-frame 64x48 H.264/MPEG-4 clip at 12 fps with a mono AAC sine tone."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264" if "libx264" in av.codec.codecs_available else "mpeg4", rate=FPS)
        v.width, v.height, v.pix_fmt = W, H, "yuv420p"
        v.options = {"crf": "1"} if v.codec_context.name == "libx264" else {}
        a = out.add_stream("aac", rate=22050)
        a.layout = "mono"
        for i in range(FRAMES):
            out.mux(v.encode(av.VideoFrame.from_ndarray(_frame(i), format="rgb24")))
        out.mux(v.encode(None))
        t = np.arange(int(22050 * FRAMES / FPS)) / 22050
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 22050
        out.mux(a.encode(frame))
        out.mux(a.encode(None))
    return path


def _read(path):
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        has_audio = bool(c.streams.audio)
    return frames, has_audio


def test_round_trip_applies_the_function_to_every_frame_and_keeps_audio(clip, tmp_path):
    result = stylize_video(clip, tmp_path / "out.mp4", lambda x: 1 - x)
    frames, has_audio = _read(tmp_path / "out.mp4")
    assert result.frames == FRAMES == len(frames) and result.audio and has_audio
    assert result.size == (W, H) and result.fps == FPS
    source, _ = _read(clip)
    for got, src in zip(frames, source):
        assert np.abs(got.astype(int) - (255 - src.astype(int))).mean() < 6  # lossy codec


def test_smoothing_blends_with_the_previous_output(clip, tmp_path):
    seen = []
    stylize_video(clip, tmp_path / "s.mp4", lambda x: (seen.append(float(x.mean())), torch.full_like(x, 0.0 if len(seen) == 1 else 1.0))[1], smoothing=0.5, max_frames=2)
    frames, _ = _read(tmp_path / "s.mp4")
    assert len(frames) == 2 and len(seen) == 2
    assert abs(frames[0].mean() - 0) < 3 and abs(frames[1].mean() - 127.5) < 4  # 0.5 * 1 + 0.5 * 0


def test_undecodable_video_writes_nothing(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(BrushworkError, match="cannot decode"):
        stylize_video(bad, tmp_path / "out.mp4", lambda x: x)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]
    with pytest.raises(BrushworkError, match="unsupported video format"):
        stylize_video(bad, tmp_path / "out.gif", lambda x: x)


def test_cli_with_a_fast_model(clip, tmp_path, capsys):
    from brushwork.style.fast import FastConfig, TransformerNet
    from brushwork.models import save_pretrained

    save_pretrained(TransformerNet(FastConfig((4, 8, 8), 1, 3)), tmp_path / "m", backbone="vgg16-hed")
    code = main(["stylize-video", str(clip), "-o", str(tmp_path / "o.mp4"), "--model", str(tmp_path / "m"), "--size", "32", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == FRAMES and report["size"] == [32, 24] and report["audio"] is True
    from PIL import Image

    Image.fromarray(_frame(0)).save(tmp_path / "x.png")
    code = main(["stylize-video", str(clip), "-o", str(tmp_path / "o2.mp4"), "--model", str(tmp_path / "m"), "--style", str(tmp_path / "x.png")])
    assert code == 2 and "style built in" in capsys.readouterr().err and not (tmp_path / "o2.mp4").exists()
