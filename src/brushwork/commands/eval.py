"""`brushwork eval fid|kid|is|prdc|style|stats`: metrics between image folders, zips and statistics files."""

from __future__ import annotations

import warnings
from dataclasses import asdict

import click

from .common import device_option, emit_json, json_option, quiet_option, reserve_output, resolve_device, show_progress
from .options import option_group


# --features, --weights, --batch-size, --max-images, --device, --json, --quiet.
_feature_options = option_group(
    click.option("--features", default="inception", show_default=True,
                 help="Feature space: inception (needs `brushwork weights fetch inception-fid`), "
                      "vgg16-hed (offline) or classifier:PATH."),
    click.option("--weights", type=click.Path(dir_okay=False), default=None,
                 help="Local weights file for the feature space (instead of the cached one)."),
    click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True),
    click.option("--max-images", type=click.IntRange(min=1), default=None, help="Use at most N images per source."),
    click.option("--samples", type=click.IntRange(min=1), default=10_000, show_default=True,
                 help="Images to draw from a GAN run folder given as a source (EMA generator when kept)."),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed for GAN sampling (and KID subsets)."),
    device_option, json_option, quiet_option,
)


def _options(features, weights, batch_size, max_images, samples, seed, device, quiet, as_json):
    from ..gan.source import run_features
    from ..metrics.evaluate import EvalOptions

    return EvalOptions(features=features, weights=weights, device=resolve_device(device), batch_size=batch_size,
                       max_images=max_images, progress=show_progress(quiet, as_json), samples=samples, seed=seed,
                       run_features=run_features)


def _report(result, as_json: bool, text: str) -> None:
    """The result dataclass as one JSON object, or ``text`` for people."""
    if as_json:
        emit_json(asdict(result))
    else:
        click.echo(text)


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Repeat caught warnings as single 'warning:' lines on stderr (deduplicated, skips summarised)."""
    skips = [w for w in caught if str(w.message).startswith("skipping unreadable image")]
    if skips:
        click.echo(f"warning: skipped {len(skips)} unreadable image(s), e.g. {str(skips[0].message)[len('skipping unreadable image: '):]}", err=True)
    seen = set()
    for w in caught:
        message = str(w.message)
        if w in skips or message in seen:
            continue
        seen.add(message)
        click.echo(f"warning: {message}", err=True)


class _Warnings:
    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self.caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        _show_warnings(self.caught)
        return False


@click.group("eval")
def eval_group() -> None:
    """Evaluate generated or stylised images: FID, KID, IS, precision/recall, style distances.

    A SOURCE is a folder of images (searched recursively), a .zip of images, a GAN
    run folder (--samples images drawn from its generator, EMA weights when kept),
    or, for FID, a statistics .npz (pytorch-fid layout, see `eval stats`).
    """


@eval_group.command("fid")
@click.argument("a")
@click.argument("b")
@click.option("--allow-singular", is_flag=True,
              help="Compute FID even when a set has no more images than feature dimensions (degenerate, biased).")
@_feature_options
def fid(a, b, allow_singular, features, weights, batch_size, max_images, samples, seed, device, as_json, quiet):
    """Fréchet distance between the feature statistics of sources A and B."""
    from ..metrics.evaluate import fid_between

    with _Warnings():
        result, skipped = fid_between(a, b, _options(features, weights, batch_size, max_images, samples, seed, device, quiet, as_json),
                                      allow_singular=allow_singular)
    if as_json:
        emit_json({"fid": result.fid, "features": result.features, "n_a": result.n_a, "n_b": result.n_b,
                   "singular": result.singular, "skipped": skipped})
    else:
        click.echo(f"FID {result.fid:.4f}  ({result.features} features, n_a={result.n_a}, n_b={result.n_b})")


@eval_group.command("kid")
@click.argument("a")
@click.argument("b")
@click.option("--subsets", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--subset-size", type=click.IntRange(min=2), default=1000, show_default=True)
@_feature_options
def kid(a, b, subsets, subset_size, features, weights, batch_size, max_images, samples, seed, device, as_json, quiet):
    """Kernel Inception Distance (unbiased MMD², cubic kernel) between the images of A and B."""
    from ..metrics.evaluate import kid_between

    with _Warnings():
        r = kid_between(a, b, _options(features, weights, batch_size, max_images, samples, seed, device, quiet, as_json),
                        subsets=subsets, subset_size=subset_size, seed=seed)
    _report(r, as_json, f"KID {r.kid_mean:.6f} ± {r.kid_std:.6f}  ({r.features} features, n_a={r.n_a}, n_b={r.n_b}, "
                        f"{r.subsets} subsets of {r.subset_size})")


@eval_group.command("is")
@click.argument("a")
@click.option("--splits", type=click.IntRange(min=1), default=10, show_default=True)
@_feature_options
def is_(a, splits, features, weights, batch_size, max_images, samples, seed, device, as_json, quiet):
    """Inception Score of the images of A (needs logits: inception or classifier:PATH)."""
    from ..metrics.evaluate import inception_score_of

    with _Warnings():
        r = inception_score_of(a, _options(features, weights, batch_size, max_images, samples, seed, device, quiet, as_json), splits=splits)
    _report(r, as_json, f"IS {r.is_mean:.4f} ± {r.is_std:.4f}  ({r.features}, n={r.n}, {r.splits} splits)")


@eval_group.command("prdc")
@click.argument("real")
@click.argument("fake")
@click.option("--k", "k", type=click.IntRange(min=1), default=3, show_default=True, help="Neighbours for precision/recall.")
@click.option("--k-dc", type=click.IntRange(min=1), default=5, show_default=True, help="Neighbours for density/coverage.")
@_feature_options
def prdc(real, fake, k, k_dc, features, weights, batch_size, max_images, samples, seed, device, as_json, quiet):
    """Precision, recall (k-NN manifolds), density and coverage of FAKE's images against REAL's."""
    from ..metrics.evaluate import prdc_between

    with _Warnings():
        r = prdc_between(real, fake, _options(features, weights, batch_size, max_images, samples, seed, device, quiet, as_json),
                         k=k, k_dc=k_dc)
    _report(r, as_json, f"precision {r.precision:.4f}  recall {r.recall:.4f}  density {r.density:.4f}  "
                        f"coverage {r.coverage:.4f}  ({r.features}, n_real={r.n_real}, n_fake={r.n_fake})")


@eval_group.command("style")
@click.argument("output")
@click.argument("content")
@click.argument("style")
@click.option("--features", default="vgg16-hed", show_default=True,
              help="VGG weights for the distances (vgg16-hed offline, vgg19-imagenet, vgg16-imagenet or a file), or magenta: distances between Magenta's 100-d style vectors.")
@click.option("--inception-weights", type=click.Path(dir_okay=False), default=None,
              help="Inception file for the ArtFID part (else the cached one, if any).")
@click.option("--size", type=click.IntRange(min=32), default=256, show_default=True, help="Images are resized to SIZE x SIZE.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@device_option
@json_option
@quiet_option
def style(output, content, style, features, inception_weights, size, batch_size, device, as_json, quiet):
    """Content and style distances of stylised OUTPUT images to CONTENT and STYLE (one each, or one per output).

    Images pair up in sorted order of file names. ArtFID is reported only where the Inception weights are present.
    """
    if features == "magenta":  # Magenta's style-vector space instead of VGG
        from ..style.magenta_metrics import magenta_style_metrics

        with _Warnings():
            m = magenta_style_metrics(output, content, style, device=resolve_device(device))
        return _report(m, as_json, f"style distance {m.style_distance:.4f}  cosine {m.style_cosine:.4f}  content->style "
                                   f"{m.content_style_distance:.4f}  progress {m.style_progress:.4f}  (magenta, n={m.n})")
    from ..metrics.style import style_metrics

    with _Warnings():
        r = style_metrics(output, content, style, backbone=features, size=size, device=resolve_device(device),
                          inception_weights=inception_weights, batch_size=batch_size,
                          progress=show_progress(quiet, as_json))
    art = "n/a" if r.artfid is None else f"{r.artfid:.4f}"
    _report(r, as_json, f"content {r.content_distance:.4f}  gram {r.gram_distance:.4f}  "
                        f"sliced-W {r.sliced_wasserstein:.4f}  ArtFID {art}  ({r.features}, n={r.n})\nnote: {r.note}")


@eval_group.command("stats")
@click.argument("src")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Where to write the .npz.")
@_feature_options
def stats(src, output, features, weights, batch_size, max_images, samples, seed, device, as_json, quiet):
    """Write the mean and covariance of SRC's features to an .npz (pytorch-fid's layout: mu, sigma)."""
    reserve_output(output)  # an unwritable output fails now, not after the work
    from ..metrics.evaluate import write_stats

    with _Warnings():
        s, skipped = write_stats(src, output, _options(features, weights, batch_size, max_images, samples, seed, device, quiet, as_json))
    if as_json:
        emit_json({"path": output, "features": s.features, "n": s.n, "dim": s.dim, "skipped": skipped})
    else:
        click.echo(f"wrote {output}  ({s.features} features, n={s.n}, dim={s.dim})")
