"""Real AVIs with one damaged packet: MPEG-4 Part 2 video and AC-3 stereo audio at 23.976 fps.

They are what users' cameras and old rips give: Megamind.avi's real motion (opencv-doc) re-encoded as
MPEG-4 Part 2 in an AVI (time base 125/2997), with a 48 kHz AC-3 tone. One packet of the chosen stream
has its payload overwritten with noise, so its decoder refuses it, as with a scratched or cut file.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

MEGAMIND = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")
RATE = Fraction(24000, 1001)


def _megamind_frames(count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """The first `count` frames of Megamind.avi (real motion), resized to `size`."""
    import cv2

    frames = []
    with av.open(str(MEGAMIND)) as clip:
        for frame in clip.decode(video=0):
            frames.append(cv2.resize(frame.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                break
    return frames


def _noise(packet: av.Packet, seed: int) -> av.Packet:
    """A packet of the same size, stream and times whose payload is noise."""
    rng = np.random.default_rng(seed)
    damaged = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
    damaged.stream, damaged.pts, damaged.dts, damaged.time_base = packet.stream, packet.pts, packet.dts, packet.time_base
    damaged.is_keyframe = packet.is_keyframe
    return damaged


def damaged_avi(path: Path, damage: str, frames: int = 72, size: tuple[int, int] = (320, 240),
                damaged_index: int = 20) -> Path:
    """Write the AVI; `damage` is "audio", "video" or "none": which stream gets one noisy packet
    ("audio-all": every audio packet is noise)."""
    pictures = _megamind_frames(frames, size)
    with av.open(str(path), "w", format="avi") as out:
        video = out.add_stream("mpeg4", rate=RATE)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.codec_context.gop_size = 12
        audio = out.add_stream("ac3", rate=48000)
        audio.layout = "stereo"
        packets: list[av.Packet] = []
        for image in pictures:
            packets += video.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
        packets += video.encode()
        video_packets = packets
        audio_packets: list[av.Packet] = []
        seconds = frames / float(RATE)
        t = np.arange(int(seconds * 48000)) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1536):
            chunk = np.stack([tone[start:start + 1536]] * 2)
            if chunk.shape[1] < 1536:
                chunk = np.pad(chunk, ((0, 0), (0, 1536 - chunk.shape[1])))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, start
            audio_packets += audio.encode(frame)
        audio_packets += audio.encode()
        if damage == "video":
            keyframes = [i for i, p in enumerate(video_packets) if not p.is_keyframe]
            i = keyframes[min(damaged_index, len(keyframes) - 1)]
            video_packets[i] = _noise(video_packets[i], 1)
        elif damage == "audio":
            audio_packets[damaged_index] = _noise(audio_packets[damaged_index], 2)
        elif damage == "audio-all":
            audio_packets = [_noise(p, k) for k, p in enumerate(audio_packets)]
        merged = sorted(video_packets + audio_packets, key=lambda p: float(p.dts * p.time_base))
        for packet in merged:
            out.mux(packet)
    return path
