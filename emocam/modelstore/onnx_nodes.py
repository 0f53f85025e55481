"""ONNX graph nodes read from and written to protobuf bytes: what the runtime's graph rewrites share.

The runtime has no `onnx` package (`protowire.py` says why): a rewrite reads each NodeProto into a `Node` (its
raw bytes kept, so nodes it does not change are copied byte for byte), finds its pattern through `Graph`'s
makers and users, and writes new nodes with `new_node`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from emocam.modelstore.protowire import LENGTH, VARINT, FIXED32, enum, fields, float32, message, read_varint, rewrite, varint

MODEL_GRAPH, MODEL_OPSET = 7, 8
OPSET_DOMAIN, OPSET_VERSION = 1, 2
GRAPH_NODE, GRAPH_OUTPUT = 1, 12
NODE_INPUT, NODE_OUTPUT, NODE_NAME, NODE_OP, NODE_ATTRIBUTE = 1, 2, 3, 4, 5
ATTR_NAME, ATTR_F, ATTR_I, ATTR_T, ATTR_INTS, ATTR_TYPE = 1, 2, 3, 5, 8, 20
ATTR_FLOAT, ATTR_INT, ATTR_TENSOR = 1, 2, 4
TENSOR_DIMS, TENSOR_TYPE, TENSOR_FLOATS, TENSOR_INT64S, TENSOR_RAW = 1, 2, 4, 7, 9
FLOAT, INT64 = 1, 7


@dataclass
class Node:
    """The parts of a NodeProto a rewrite reads; `raw` is the node as it was, written back untouched."""
    raw: bytes
    op: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    attrs: dict[str, bytes] = field(default_factory=dict)


def read_node(raw: bytes) -> Node:
    node = Node(raw)
    for number, wire, _, payload in fields(raw):
        if wire != LENGTH:
            continue
        if number == NODE_INPUT:
            node.inputs.append(payload.decode())
        elif number == NODE_OUTPUT:
            node.outputs.append(payload.decode())
        elif number == NODE_OP:
            node.op = payload.decode()
        elif number == NODE_ATTRIBUTE:
            name = next((p.decode() for n, w, _, p in fields(payload) if n == ATTR_NAME and w == LENGTH), "")
            node.attrs[name] = payload
    return node


def with_inputs(node: Node, inputs: list[str]) -> bytes:
    """`node`'s bytes with its inputs replaced by `inputs` (same count), every other field as it was."""
    replacement = iter(inputs)
    out = bytearray()
    for number, wire, raw, _ in fields(node.raw):
        out += message(NODE_INPUT, next(replacement).encode()) if number == NODE_INPUT and wire == LENGTH else raw
    return bytes(out)


def ints(attr: bytes, number: int) -> list[int]:
    """A repeated or single integer field of `attr`, packed or not (int64s are read as signed)."""
    values: list[int] = []
    for n, wire, _, payload in fields(attr):
        if n != number:
            continue
        if wire == VARINT:
            values.append(read_varint(payload, 0)[0])
        elif wire == LENGTH:
            pos = 0
            while pos < len(payload):
                value, pos = read_varint(payload, pos)
                values.append(value)
    return [v - (1 << 64) if v >= 1 << 63 else v for v in values]


def _tensor_values(tensor: bytes) -> tuple[list[float] | list[int], list[int]] | None:
    """(values, dims) of a small FLOAT or INT64 TensorProto, None for any other kind."""
    kind = (ints(tensor, TENSOR_TYPE) or [0])[0]
    dims = ints(tensor, TENSOR_DIMS)
    raw = b"".join(p for n, w, _, p in fields(tensor) if n == TENSOR_RAW and w == LENGTH)
    if kind == FLOAT:
        floats = b"".join(p for n, w, _, p in fields(tensor) if n == TENSOR_FLOATS and w in (LENGTH, FIXED32))
        data = raw or floats
        return list(struct.unpack(f"<{len(data) // 4}f", data[:len(data) // 4 * 4])), dims
    if kind == INT64:
        if raw:
            return list(struct.unpack(f"<{len(raw) // 8}q", raw[:len(raw) // 8 * 8])), dims
        return ints(tensor, TENSOR_INT64S), dims
    return None


def constant(node: Node | None) -> tuple[list, list[int]] | None:
    """(values, dims) of a Constant node's tensor, None when `node` is not such a constant."""
    if node is None or node.op != "Constant" or "value" not in node.attrs:
        return None
    tensor = next((p for n, w, _, p in fields(node.attrs["value"]) if n == ATTR_T and w == LENGTH), None)
    return None if tensor is None else _tensor_values(tensor)


def scalar(node: Node | None) -> float | None:
    found = constant(node)
    return float(found[0][0]) if found and len(found[0]) == 1 else None


class Graph:
    """The nodes of a graph with who makes and who uses each value."""

    def __init__(self, nodes: list[Node], outputs: set[str]) -> None:
        self.nodes, self.outputs = nodes, outputs
        self.maker = {out: n for n in nodes for out in n.outputs}
        self.users: dict[str, list[Node]] = {}
        for n in nodes:
            for name in n.inputs:
                self.users.setdefault(name, []).append(n)

    def sole_user(self, value: str, op: str) -> Node | None:
        """The one node that reads `value`, when it is an `op` and the value is not a graph output."""
        users = self.users.get(value, [])
        if len(users) != 1 or users[0].op != op or value in self.outputs:
            return None
        return users[0]

    def other_input(self, node: Node, value: str) -> str | None:
        """The input of a two-input `node` that is not `value`."""
        if len(node.inputs) != 2 or value not in node.inputs:
            return None
        return node.inputs[1] if node.inputs[0] == value else node.inputs[0]

    def per_channel(self, value: str | None) -> bool:
        """Whether `value` is a Reshape to [1, C, 1, 1]: a per-channel scale or shift."""
        reshape = self.maker.get(value or "")
        if reshape is None or reshape.op != "Reshape" or len(reshape.inputs) != 2:
            return False
        shape = constant(self.maker.get(reshape.inputs[1]))
        return bool(shape) and len(shape[0]) == 4 and shape[0][0] == 1 and shape[0][2:] == [1, 1]


def read_graph(model: bytes) -> Graph | None:
    """The main graph of a serialized ModelProto, None when it has none. Raises ValueError on bytes that are not
    a protobuf."""
    graph_bytes = next((p for n, w, _, p in fields(model) if n == MODEL_GRAPH and w == LENGTH), None)
    if graph_bytes is None:
        return None
    nodes = [read_node(p) for n, w, _, p in fields(graph_bytes) if n == GRAPH_NODE and w == LENGTH]
    outputs = {next((p.decode() for n, w, _, p in fields(v) if n == 1 and w == LENGTH), "")
               for n, w, _, v in fields(graph_bytes) if n == GRAPH_OUTPUT and w == LENGTH}
    return Graph(nodes, outputs)


def opset(model: bytes) -> int:
    """The model's version of the default ("" or "ai.onnx") operator set, 0 when it names none."""
    for number, wire, _, payload in fields(model):
        if number == MODEL_OPSET and wire == LENGTH:
            domain = b"".join(p for n, w, _, p in fields(payload) if n == OPSET_DOMAIN and w == LENGTH)
            if domain in (b"", b"ai.onnx"):
                return (ints(payload, OPSET_VERSION) or [0])[0]
    return 0


def with_nodes(model: bytes, nodes: list[bytes]) -> bytes:
    """`model` with its graph's nodes replaced by `nodes` (serialized NodeProtos), everything else untouched."""
    def new_graph(payload: bytes) -> bytes:
        out, written = bytearray(), False
        for number, wire, raw, _ in fields(payload):
            if number == GRAPH_NODE and wire == LENGTH:
                if not written:
                    out += b"".join(message(GRAPH_NODE, n) for n in nodes)
                    written = True
            else:
                out += raw
        return bytes(out)

    return rewrite(model, MODEL_GRAPH, new_graph)


def spatial_mean(node: Node | None) -> bool:
    """Whether `node` is a ReduceMean over axes 2 and 3 that keeps them: a per-channel mean of a feature map."""
    return (node is not None and node.op == "ReduceMean" and len(node.inputs) == 1
            and ints(node.attrs.get("axes", b""), ATTR_INTS) == [2, 3]
            and ints(node.attrs.get("keepdims", b""), ATTR_I) in ([], [1]))


def new_node(op: str, inputs: list[str], outputs: list[str], name: str, attrs: list[bytes] = ()) -> bytes:
    return (b"".join(message(NODE_INPUT, i.encode()) for i in inputs)
            + b"".join(message(NODE_OUTPUT, o.encode()) for o in outputs)
            + message(NODE_NAME, name.encode()) + message(NODE_OP, op.encode())
            + b"".join(message(NODE_ATTRIBUTE, a) for a in attrs))


def int_attr(name: str, value: int) -> bytes:
    return message(ATTR_NAME, name.encode()) + enum(ATTR_I, value) + enum(ATTR_TYPE, ATTR_INT)


def float_attr(name: str, value: float) -> bytes:
    return message(ATTR_NAME, name.encode()) + float32(ATTR_F, value) + enum(ATTR_TYPE, ATTR_FLOAT)


def constant_node(name: str, values: list[int] | float) -> bytes:
    """A Constant named `name`: a float scalar, or a 1-D int64 tensor of `values`."""
    if isinstance(values, float):
        tensor = enum(TENSOR_TYPE, FLOAT) + message(TENSOR_RAW, struct.pack("<f", values))
    else:
        tensor = (message(TENSOR_DIMS, varint(len(values))) + enum(TENSOR_TYPE, INT64)
                  + message(TENSOR_RAW, struct.pack(f"<{len(values)}q", *values)))
    attr = message(ATTR_NAME, b"value") + message(ATTR_T, tensor) + enum(ATTR_TYPE, ATTR_TENSOR)
    return new_node("Constant", [], [name], name, [attr])

