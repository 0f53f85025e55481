"""Instance-norm statistics from an evenly spread sample of the feature map, for OpenVINO at large sizes.

A style network's instance norm reads its whole feature map twice for a mean and a variance per channel. At
640x480 the first and last layers' maps (32 and 4 channels at full size) made those reductions ~6 of the
network's ~30 ms in OpenVINO bf16 on two cores, for two numbers per channel that a sample pins down as well.
Each norm's mean and variance now come from every s-th row and column (`Slice` with steps s), s the largest
odd number with at least `SAMPLES` samples left; the normalisation itself still covers every pixel. s is odd
so that the sample meets every phase of a 2x upsampled map (an even step saw one phase and missed the others'
bias). Below 2 x `SAMPLES` pixels s is 1: OpenVINO drops the identity slice and the norm is exact, so the
live window's 320 px frames are unchanged. s is computed in the graph from the map's shape, which OpenVINO
folds to a constant for each compiled input size (docs/backends.md: the speed and the PSNR it costs).
"""
from __future__ import annotations

from emocam.modelstore.onnx_nodes import (FLOAT, INT64, Graph, Node, constant_node, int_attr, new_node, opset,
                                          read_graph, scalar, spatial_mean, with_inputs, with_nodes)

SAMPLES = 32768.0  # per channel: the variance of a 34k-pixel sample is within ~1% of the whole map's
INT64_MAX = (1 << 63) - 1
MIN_OPSET = 10  # Slice with step inputs


def _statistics(graph: Graph, mean: Node) -> Node | None:
    """The variance's square (Pow(x - mean, 2)) of the norm whose mean is `mean`, or None when `mean` is not the
    first reduction of the spelled-out pattern (mean, x - mean, its square, the square's mean)."""
    x = mean.inputs[0]
    sub = next((u for u in graph.users.get(mean.outputs[0], []) if u.op == "Sub"), None)
    if sub is None or sub.inputs != [x, mean.outputs[0]]:
        return None
    square = next((u for u in graph.users.get(sub.outputs[0], []) if u.op == "Pow"), None)
    if square is None or square.inputs[0] != sub.outputs[0] or scalar(graph.maker.get(square.inputs[1])) != 2.0:
        return None
    variance = graph.sole_user(square.outputs[0], "ReduceMean")
    return square if spatial_mean(variance) else None


def _sample_nodes(x: str, prefix: str) -> tuple[list[bytes], str]:
    """(nodes that slice every s-th row and column of `x`, the sample's name); s from x's shape as above."""
    name = lambda part: f"{prefix}/{part}"  # noqa: E731 - names no exporter writes
    nodes = [constant_node(name("2"), [2]), constant_node(name("4"), [4]), constant_node(name("0"), [0]),
             constant_node(name("one"), 1.0), constant_node(name("two"), 2.0),
             constant_node(name("samples"), SAMPLES), constant_node(name("flat"), [1]),
             constant_node(name("starts"), [0, 0]), constant_node(name("ends"), [INT64_MAX, INT64_MAX]),
             constant_node(name("axes"), [2, 3])]
    steps = [("Shape", [x], "shape", []),
             ("Slice", [name("shape"), name("2"), name("4"), name("0")], "hw", []),
             ("ReduceProd", [name("hw")], "pixels", [int_attr("keepdims", 0)]),
             ("Cast", [name("pixels")], "pixels_f", [int_attr("to", FLOAT)]),
             ("Div", [name("pixels_f"), name("samples")], "ratio", []),
             ("Sqrt", [name("ratio")], "root", []),  # the step that leaves SAMPLES pixels
             ("Add", [name("root"), name("one")], "root_1", []),
             ("Div", [name("root_1"), name("two")], "half", []),
             ("Floor", [name("half")], "floor", []),
             ("Mul", [name("floor"), name("two")], "even", []),
             ("Sub", [name("even"), name("one")], "odd", []),  # the largest odd number <= root
             ("Max", [name("odd"), name("one")], "step_f", []),
             ("Cast", [name("step_f")], "step", [int_attr("to", INT64)]),
             ("Reshape", [name("step"), name("flat")], "step_1", []),
             ("Concat", [name("step_1"), name("step_1")], "steps", [int_attr("axis", 0)]),
             ("Slice", [x, name("starts"), name("ends"), name("axes"), name("steps")], "sample", [])]
    nodes += [new_node(op, inputs, [name(out)], name(out), attrs) for op, inputs, out, attrs in steps]
    return nodes, name("sample")


def sample_norm_statistics(model: bytes) -> tuple[bytes, int]:
    """(the serialized ONNX `model` with each spelled-out instance norm's mean and variance taken from a sample,
    how many norms). Unchanged with 0 when it has none or an opset before 10. Raises ValueError on bytes that are
    not a protobuf."""
    graph = read_graph(model)
    if graph is None or opset(model) < MIN_OPSET:
        return model, 0
    squares = {id(mean): _statistics(graph, mean) for mean in graph.nodes if spatial_mean(mean)}
    squares = {key: square for key, square in squares.items() if square is not None}
    if not squares:
        return model, 0
    centred = {}  # id of a norm's square -> the name of (sample - mean) it now squares
    new_nodes: list[bytes] = []
    for node in graph.nodes:
        square = squares.get(id(node))
        if square is not None:
            prefix = f"emocam_stats/{node.outputs[0]}"
            sample_nodes, sample = _sample_nodes(node.inputs[0], prefix)
            centred[id(square)] = f"{prefix}/centred"
            new_nodes += sample_nodes
            new_nodes.append(with_inputs(node, [sample]))
            new_nodes.append(new_node("Sub", [sample, node.outputs[0]], [centred[id(square)]], centred[id(square)]))
        elif id(node) in centred:
            new_nodes.append(with_inputs(node, [centred[id(node)], node.inputs[1]]))
        else:
            new_nodes.append(node.raw)
    return with_nodes(model, new_nodes), len(squares)
