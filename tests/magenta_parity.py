"""Helpers of the Magenta parity tests: onnxruntime sessions, small Q/DQ graphs, teacher-forced
comparison of every rounding point, and a reordered-sum copy of a graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch


def session(model, optimize: bool = True):
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.log_severity_level = 1, 3
    if not optimize:  # the reference semantics of Q/DQ graphs: dequantise, float op, quantise
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), so, providers=["CPUExecutionProvider"])


def qdq_graph(scale: float, zero: int) -> bytes:
    """``DequantizeLinear(QuantizeLinear(x))`` with an int8 zero point, as the Magenta graphs have it."""
    h, tp = onnx.helper, onnx.TensorProto
    nodes = [h.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]), h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    inits = [h.make_tensor("s", tp.FLOAT, [], [scale]), h.make_tensor("z", tp.INT8, [], [zero])]
    graph = h.make_graph(nodes, "qdq", [h.make_tensor_value_info("x", tp.FLOAT, [None])], [h.make_tensor_value_info("y", tp.FLOAT, [None])], inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 15)]).SerializeToString()


def layout(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """onnxruntime's tensor ``a`` in our layout ``shape`` (NHWC -> NCHW where needed); None if the sizes differ."""
    if a.size != int(np.prod(shape)):
        return None
    if a.ndim == 4 and a.shape != shape and a.transpose(0, 3, 1, 2).shape == shape:
        return np.ascontiguousarray(a.transpose(0, 3, 1, 2))
    return a.reshape(shape)


def teacher_forced_codes(monkeypatch, g, net, run, feeds):
    """Run ``net`` (``run(net)``) with every rounding point given onnxruntime's value (optimisations
    off), so that each op is compared on the same inputs. Returns per point (ours, onnxruntime's)
    pre-rounding values and int8 codes (ours read back from our rounded output)."""
    from brushwork.style import magenta as mg

    qnode = {name: n for n in g.nodes if n.op_type == "QuantizeLinear" for name in n.input[:1]}
    points = {(key, p): name for key, names in g.qnames.items() for p, name in names.items() if name in qnode}
    m = onnx.load(str(g.path))
    for name in dict.fromkeys(x for n in points.values() for x in (n, qnode[n].output[0])):
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    s = session(m.SerializeToString(), optimize=False)
    ref = dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds)))
    names = {id(mod): key for key, mod in net.named_modules()}
    seen: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    original = mg._Quantized.q

    def forced(self, point, x):
        y = original(self, point, x)
        key = (names[id(self)], point)
        if key not in points:
            return y
        seen[key] = x.float().numpy().copy(), y.float().numpy().copy()
        qn = qnode[points[key]]
        scale, zero = np.float32(g.const(qn.input[1])), int(g.const_raw(qn.input[2]))
        value = layout((ref[qn.output[0]].astype(np.float32) - zero) * scale, tuple(x.shape))
        return y if value is None else torch.from_numpy(value).to(y.dtype)

    monkeypatch.setattr(mg._Quantized, "q", forced)
    with torch.inference_mode():
        run(net)
    out = {}
    for key, (ours, rounded) in seen.items():
        qn = qnode[points[key]]
        scale, zero = np.float32(g.const(qn.input[1])), int(g.const_raw(qn.input[2]))
        theirs, codes = layout(ref[points[key]], ours.shape), layout(ref[qn.output[0]], ours.shape)
        if theirs is not None:
            mine = np.rint(rounded / scale).astype(np.int64) + zero
            out[key] = (ours, theirs, mine, codes.astype(np.int64))
    return out


def reversed_sums(path: Path) -> bytes:
    """The graph with every ``group=1`` Conv reading its input channels in reverse order (a Gather)
    and its int8 weights reversed to match: the same function, summed in another order."""
    from onnx import numpy_helper

    m = onnx.load(str(path))
    init = {t.name: t for t in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}
    nodes = []
    for n in m.graph.node:
        groups = next((a.i for a in n.attribute if a.name == "group"), 1)
        w_name = producer[n.input[1]].input[0] if n.op_type == "Conv" else ""
        w = numpy_helper.to_array(init[w_name]) if n.op_type == "Conv" and groups == 1 else np.zeros((1, 1))
        if w.shape[1] > 1:
            init[w_name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w[:, ::-1]), w_name))
            idx = f"{n.output[0]}_reversed_channels"
            m.graph.initializer.append(numpy_helper.from_array(np.arange(w.shape[1] - 1, -1, -1), idx))
            nodes.append(onnx.helper.make_node("Gather", [n.input[0], idx], [idx + "_x"], axis=1))
            n.input[0] = idx + "_x"
        nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m.SerializeToString()
