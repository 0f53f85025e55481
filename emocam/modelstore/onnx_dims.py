"""Free fixed image axes of an ONNX graph's inputs and outputs, without the `onnx` package.

Magenta's arbitrary-stylization pair is exported with fixed sizes (predict 256x256, transform 384x384), yet
both graphs are fully convolutional: their Resize nodes use scales, their Reshapes only shape per-channel
parameters and the predictor ends in a global average pool. Declaring the image axes symbolic lets one graph
run at any frame size - no tiles, no letterbox, no squashing. `onnx` is a training extra, not a runtime
dependency, so the declared shapes are rewritten here in protobuf's wire format; everything else is copied
byte for byte.
"""
from __future__ import annotations

from emocam.modelstore.protowire import LENGTH, fields as _fields, message as _message, rewrite as _rewrite

# field numbers in onnx.proto3
MODEL_GRAPH = 7
GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO = 11, 12, 13
VALUE_NAME, VALUE_TYPE = 1, 2
TYPE_TENSOR = 1
TENSOR_SHAPE = 2
SHAPE_DIM = 1
DIM_VALUE, DIM_PARAM = 1, 2


def _shape(shape: bytes, axes: dict[int, str]) -> bytes:
    """A TensorShapeProto with the dims at `axes` made symbolic (named)."""
    out = bytearray()
    index = 0
    for field, wire, raw, payload in _fields(shape):
        if field == SHAPE_DIM and wire == LENGTH:
            if index in axes:
                raw = _message(SHAPE_DIM, _message(DIM_PARAM, axes[index].encode()))
            index += 1
        out += raw
    return bytes(out)


def _value_name(value_info: bytes) -> str:
    for field, wire, _, payload in _fields(value_info):
        if field == VALUE_NAME and wire == LENGTH:
            return payload.decode()
    return ""


def free_axes(model: bytes, axes: dict[str, dict[int, str]]) -> bytes:
    """The serialized ONNX `model` with the named inputs' and outputs' axes made symbolic.

    axes: value name -> {axis index: symbol}, e.g. {"content_image": {1: "h", 2: "w"}}. The graph's
    value_info (shapes of intermediate values, fixed to the old sizes when present) is dropped; onnxruntime
    infers shapes itself. Raises ValueError when a named value is not a graph input or output."""
    found: set[str] = set()

    def value(info: bytes) -> bytes:
        name = _value_name(info)
        if name not in axes:
            return info
        found.add(name)
        tensor_shape = lambda shape: _shape(shape, axes[name])  # noqa: E731
        tensor = lambda t: _rewrite(t, TENSOR_SHAPE, tensor_shape)  # noqa: E731
        return _rewrite(info, VALUE_TYPE, lambda kind: _rewrite(kind, TYPE_TENSOR, tensor))

    def graph(payload: bytes) -> bytes:
        payload = _rewrite(payload, GRAPH_VALUE_INFO, lambda _: None)
        return _rewrite(_rewrite(payload, GRAPH_INPUT, value), GRAPH_OUTPUT, value)

    result = _rewrite(model, MODEL_GRAPH, graph)
    missing = set(axes) - found
    if missing:
        raise ValueError(f"not a graph input or output: {', '.join(sorted(missing))}")
    return result
