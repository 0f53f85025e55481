"""Protobuf's wire format, read and written by hand: the runtime edits ONNX files without the `onnx` package.

`onnx` is a training extra, not a runtime dependency, so the few edits the runtime makes to a model (free image
axes, folded instance norms) and the checks it makes (input names) work on the serialized bytes; every field
they do not touch is copied byte for byte.
"""
from __future__ import annotations

import struct
from typing import Callable, Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the varint at `pos`."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def fields(buf: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """(field number, wire type, the field's raw bytes with its tag, its payload: the bytes of a
    length-delimited field, the value bytes of a fixed-size one, the encoded varint of a varint)."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        payload = b""
        if wire == VARINT:
            value_start = pos
            _, pos = read_varint(buf, pos)
            payload = buf[value_start:pos]
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            payload = buf[pos:pos + size]
            pos += size
        elif wire == LENGTH:
            length, pos = read_varint(buf, pos)
            payload = buf[pos:pos + length]
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated field")
        yield number, wire, buf[start:pos], payload


def message(number: int, payload: bytes) -> bytes:
    """A length-delimited field (a string, bytes or a sub-message)."""
    return varint(number << 3 | LENGTH) + varint(len(payload)) + payload


def float32(number: int, value: float) -> bytes:
    """A fixed32 float field."""
    return varint(number << 3 | FIXED32) + struct.pack("<f", value)


def enum(number: int, value: int) -> bytes:
    """A varint field (an enum or an integer)."""
    return varint(number << 3 | VARINT) + varint(value)


def rewrite(buf: bytes, number: int, change: Callable[[bytes], bytes | None]) -> bytes:
    """`buf` with every length-delimited field `number` replaced by change(payload) (None drops it)."""
    out = bytearray()
    for field, wire, raw, payload in fields(buf):
        if field == number and wire == LENGTH:
            new = change(payload)
            if new is not None:
                out += message(number, new)
        else:
            out += raw
    return bytes(out)
