"""Small ONNX graphs written the way exporters write them, for the tests of the runtime's graph rewrites."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def spelled_out_norm(exponent: float = 2.0, eps: float = 1e-5, opset: int = 17) -> bytes:
    """y = relu(gain * (x - mean) / sqrt(var + eps) + shift), written op by op the way torch exports it."""
    c = 4
    const = lambda name, value: helper.make_node(  # noqa: E731
        "Constant", [], [name], value=numpy_helper.from_array(np.asarray(value, np.float32), name))
    shape = helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([1, -1, 1, 1], np.int64)))
    nodes = [
        shape, const("two", exponent), const("eps", eps), const("one", 1.0),
        helper.make_node("Reshape", ["gain", "shape"], ["g4"]),
        helper.make_node("Reshape", ["shift", "shape"], ["b4"]),
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[2, 3], keepdims=1),
        helper.make_node("Sub", ["x", "mean"], ["centred"]),
        helper.make_node("Pow", ["centred", "two"], ["squared"]),
        helper.make_node("ReduceMean", ["squared"], ["var"], axes=[2, 3], keepdims=1),
        helper.make_node("Add", ["var", "eps"], ["var_eps"]),
        helper.make_node("Sqrt", ["var_eps"], ["std"]),
        helper.make_node("Div", ["one", "std"], ["inv"]),
        helper.make_node("Mul", ["centred", "inv"], ["normed"]),
        helper.make_node("Mul", ["normed", "g4"], ["scaled"]),
        helper.make_node("Add", ["scaled", "b4"], ["shifted"]),
        helper.make_node("Relu", ["shifted"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "norm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, "h", "w"]),
         helper.make_tensor_value_info("gain", TensorProto.FLOAT, [c]),
         helper.make_tensor_value_info("shift", TensorProto.FLOAT, [c])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, "h", "w"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return model.SerializeToString()
