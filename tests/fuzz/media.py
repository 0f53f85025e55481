"""Test media made on the spot with PyAV, OpenCV and numpy: valid odd files and hostile ones.

Frames show a real face (skimage's astronaut) so the pipeline does real work; every file is tiny so a
render takes well under a second.
"""
from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np


@lru_cache(maxsize=None)
def _portrait() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def picture(width: int, height: int, shift: int = 0) -> np.ndarray:
    """A real photo resized to width x height (RGB), slightly shifted per frame so frames differ."""
    image = cv2.resize(_portrait(), (max(1, width), max(1, height)), interpolation=cv2.INTER_AREA)
    return np.roll(image, shift, axis=1) if shift else image


def video(path: Path, *, frames: int = 6, size: tuple[int, int] = (64, 48), codec: str = "libx264",
          pix_fmt: str = "yuv420p", rate: int = 10, times: list[float] | None = None, fmt: str | None = None,
          audio: str | None = None, audio_rate: int = 48000, layout: str = "stereo", options: dict | None = None,
          movflags: str | None = None) -> Path:
    """Encode a small clip; `times` (seconds) makes it variable frame rate; `audio` adds a tone in that codec."""
    with av.open(str(path), "w", format=fmt, options={"movflags": movflags} if movflags else {}) as container:
        stream = container.add_stream(codec, rate=rate, options=options or {})
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        sound = None
        if audio:
            sound = container.add_stream(audio, rate=audio_rate)
            sound.layout = layout
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(*size, shift=index * 2), format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = int(round(times[index] * 1000)), Fraction(1, 1000)
            for packet in stream.encode(frame.reformat(format=pix_fmt) if pix_fmt != "rgb24" else frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            _tone(container, sound, seconds=(times[-1] if times else frames / rate))
    return path


def _tone(container, stream, seconds: float) -> None:
    rate = stream.codec_context.sample_rate
    channels = stream.codec_context.layout.nb_channels
    size = stream.codec_context.frame_size or 1024
    total = max(size, int(seconds * rate))
    t = np.arange(total) / rate
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    fmt = stream.codec_context.format
    for start in range(0, total, size):
        chunk = wave[start:start + size]
        if len(chunk) < size:
            chunk = np.pad(chunk, (0, size - len(chunk)))
        planes = np.repeat(chunk[None], channels, axis=0)
        if fmt.name.startswith("s16"):
            planes = (planes * 32767).astype(np.int16)
        elif fmt.name.startswith("s32"):
            planes = (planes * 2**31 * 0.99).astype(np.int32)
        data = planes if fmt.is_planar else planes.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt.name, layout=stream.codec_context.layout.name)
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def audio_only(path: Path, codec: str = "aac", fmt: str | None = None) -> Path:
    with av.open(str(path), "w", format=fmt) as container:
        _tone(container, container.add_stream(codec, rate=48000), seconds=0.5)
    return path


def image(path: Path, size: tuple[int, int] = (64, 64), *, params: list[int] | None = None,
          convert: int | None = None, dtype=np.uint8) -> Path:
    """Write a real picture with OpenCV (format from the suffix)."""
    bgr = cv2.cvtColor(picture(*size), cv2.COLOR_RGB2BGR)
    if convert is not None:
        bgr = cv2.cvtColor(bgr, convert)
    if dtype == np.uint16:
        bgr = bgr.astype(np.uint16) * 257
    assert cv2.imwrite(str(path), bgr, params or [])
    return path


def png_header(path: Path, width: int, height: int, bit_depth: int = 8) -> Path:
    """A PNG whose header claims width x height, followed by a tiny (inconsistent) data chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def jpeg_header(path: Path, width: int, height: int) -> Path:
    """A real small JPEG whose frame header is patched to claim width x height."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(picture(32, 32), cv2.COLOR_RGB2BGR))
    data = bytearray(data.tobytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def bmp_header(path: Path, width: int, height: int) -> Path:
    header = b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    path.write_bytes(header + b"\0" * 64)
    return path


def corrupt(source: Path, target: Path, *, at: float | None = None, marker: bytes | None = None,
            count: int = 64, seed: int = 0) -> Path:
    """A copy of `source` with `count` random bytes overwritten at a fraction `at` or just after `marker`."""
    data = bytearray(source.read_bytes())
    rng = np.random.default_rng(seed)
    start = data.find(marker) + len(marker) if marker else int(len(data) * (at or 0.5))
    start = max(0, min(start, len(data) - 1))
    end = min(len(data), start + count)
    data[start:end] = rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    target.write_bytes(bytes(data))
    return target


def truncate(source: Path, target: Path, fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def random_bytes(path: Path, size: int, seed: int = 0) -> Path:
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path
