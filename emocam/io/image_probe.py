"""An image's format and size from its header, read before any pixel is decoded.

A header that claims 100000x100000 pixels must be refused before a decoder tries to allocate it, and a
file that only looks like an image by its name (text, a video, zeros) must be refused with one line.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from emocam.errors import EmocamError

MIN_SIDE = 16  # the face detector and the style networks need at least this many pixels a side
MAX_SIDE = 16384
MAX_PIXELS = 64_000_000


def check_frame_size(width: int, height: int, what: str) -> None:
    """Refuse frames too small for the networks, or too large to hold in memory, in one line."""
    if min(width, height) < MIN_SIDE:
        raise EmocamError(f"{what} is {width}x{height}: frames must be at least {MIN_SIDE} pixels on each side")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise EmocamError(f"{what} is {width}x{height}: the limit is {MAX_SIDE} pixels a side "
                          f"and {MAX_PIXELS // 1_000_000} megapixels")


def image_size(path: Path) -> tuple[str, int, int]:
    """(format, width, height) from the header of a PNG, JPEG, BMP, WebP or TIFF file, or EmocamError."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(32)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return "png", width, height
            if head.startswith(b"\xff\xd8"):
                return ("jpeg", *_jpeg_size(handle))
            if head.startswith(b"BM") and len(head) >= 26:
                width, height = struct.unpack("<ii", head[18:26])
                return "bmp", abs(width), abs(height)
            if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
                return ("webp", *_webp_size(head + handle.read(32)))
            if head[:4] in (b"II*\x00", b"MM\x00*"):
                return ("tiff", *_tiff_size(handle, head[:2]))
    except OSError as exc:
        raise EmocamError(f"cannot read {path}: {exc.strerror}") from None
    except (struct.error, ValueError):
        raise EmocamError(f"{path} has a damaged image header") from None
    what = "is empty" if not head else "is not a PNG, JPEG, BMP, WebP or TIFF image"
    raise EmocamError(f"{path} {what}")


def _jpeg_size(handle: BinaryIO) -> tuple[int, int]:
    handle.seek(2)
    while True:
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise ValueError("no frame header")
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue
        length = struct.unpack(">H", handle.read(2))[0]
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">xHH", handle.read(5))
            return width, height
        handle.seek(length - 2, 1)


def _webp_size(head: bytes) -> tuple[int, int]:
    chunk = head[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    raise ValueError("unknown WebP chunk")


def _tiff_size(handle: BinaryIO, order: bytes) -> tuple[int, int]:
    endian = "<" if order == b"II" else ">"
    handle.seek(4)
    offset = struct.unpack(endian + "I", handle.read(4))[0]
    handle.seek(offset)
    count = struct.unpack(endian + "H", handle.read(2))[0]
    found: dict[int, int] = {}
    for _ in range(min(count, 4096)):
        tag, kind, _, value = struct.unpack(endian + "HHI4s", handle.read(12))
        if tag in (256, 257):
            found[tag] = struct.unpack(endian + ("H" if kind == 3 else "I"), value[: 2 if kind == 3 else 4])[0]
    if 256 not in found or 257 not in found:
        raise ValueError("no size tags")
    return found[256], found[257]
