"""The input names of an ONNX graph, read straight from its protobuf (the runtime has no `onnx` package).

Packs are checked at load (a multistyle model must take `image` and `style_weights`) without building an
inference session twice.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from emocam.errors import EmocamError
from emocam.modelstore.protowire import LENGTH, fields


def onnx_input_names(path: Path) -> list[str]:
    """The graph input names of an ONNX file (initializers excluded), read from its protobuf without onnx."""
    try:
        data = Path(path).read_bytes()
        graph = next((value for number, value in _fields(data) if number == 7), None)
        if graph is None:
            raise ValueError("no graph")
        inputs, initializers = [], set()
        for number, value in _fields(graph):
            if number == 11:
                inputs += [v.decode() for n, v in _fields(value) if n == 1]
            elif number == 5:
                initializers.update(v.decode() for n, v in _fields(value) if n == 8)
    except OSError as exc:
        raise EmocamError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, IndexError, UnicodeDecodeError):
        raise EmocamError(f"{path} is not an ONNX model (damaged or another kind of file)") from None
    return [name for name in inputs if name not in initializers]


def _fields(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, bytes) of each length-delimited field of a protobuf message; other wire types skipped."""
    return ((number, payload) for number, wire, _, payload in fields(data) if wire == LENGTH)
