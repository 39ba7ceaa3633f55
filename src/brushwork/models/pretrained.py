"""The mixin of hub models (``save_pretrained``); torch-free until a model is saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Pretrained:
    """Mixin for hub models: ``save_pretrained`` plus the attributes the hub sets on load.

    ``kind`` names the kind; ``backbone`` and ``provenance`` default to None and ``{}`` and are
    set by :func:`brushwork.models.load` from the folder's ``config.json``.
    """

    kind: str
    backbone: str | None = None
    provenance: dict[str, Any] | None = None

    def save_pretrained(self, directory: str | Path, *, provenance: dict[str, Any] | None = None, half: bool = False) -> Path:
        """Write this model as a model folder (see :func:`brushwork.models.save_pretrained`)."""
        from .folder import save_pretrained

        return save_pretrained(self, directory, provenance=provenance, half=half)
