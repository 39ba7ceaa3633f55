"""GAN runs over HTTP: list them, sample grids, interpolation strips."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from .gan import GanRuns, interpolate_seeds, sample_grid
from .http import SEED_MAX, require_token

router = APIRouter(prefix="/api/gan/runs", dependencies=[Depends(require_token)])


def gan_runs(request: Request) -> GanRuns:
    """The app's GAN runs."""
    return request.app.state.runs


@router.get("")
def list_runs(runs: GanRuns = Depends(gan_runs)) -> dict[str, Any]:
    """GAN runs in ``<data>/runs`` that have a checkpoint."""
    return {"runs": runs.list()}


@router.get("/{name}/sample")
def gan_sample(name: str, n: int = 16, seed: int = Query(0, ge=0, le=SEED_MAX),
               truncation: float | None = Query(None, allow_inf_nan=False),
               class_id: int | None = Query(None, ge=0, le=2**31), runs: GanRuns = Depends(gan_runs)) -> Response:
    """A PNG grid of ``n`` samples for ``seed`` (truncation trick, class of a conditional run)."""
    return Response(sample_grid(runs.get(name), n, seed, truncation, class_id), media_type="image/png")


@router.get("/{name}/interpolate")
def gan_interpolate(request: Request, name: str, seed_a: int = Query(0, ge=0, le=SEED_MAX), seed_b: int = Query(1, ge=0, le=SEED_MAX),
                    steps: int = 8, truncation: float | None = Query(None, allow_inf_nan=False),
                    class_id: int | None = Query(None, ge=0, le=2**31), runs: GanRuns = Depends(gan_runs)) -> Response:
    """A PNG strip from seed ``seed_a``'s sample to seed ``seed_b``'s (spherical path)."""
    strip = interpolate_seeds(runs.get(name), seed_a, seed_b, steps, truncation, class_id,
                              max_steps=request.app.state.settings.max_frames)
    return Response(strip, media_type="image/png")
