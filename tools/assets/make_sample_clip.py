"""Build the bundled default input `emocam/data/sample.mp4` from public-domain pixels.

The picture is NASA's portrait of astronaut Eileen Collins (`skimage.data.astronaut()`, public domain):
a camera move onto her smiling face, a pan to the part of the photo with no face, then two copies of
the portrait side by side (two faces to track). The sound track is a synthesized chord progression.

    python -m tools.assets.make_sample_clip [-o emocam/data/sample.mp4]
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from tools.common.args import ToolParser

FPS = 30
SIZE = (640, 480)
SAMPLE_RATE = 44100


def _crop(image: np.ndarray, cx: float, cy: float, width: float) -> np.ndarray:
    """A 4:3 window of `width` source pixels centred on (cx, cy), scaled to SIZE."""
    height = width * SIZE[1] / SIZE[0]
    x0, y0 = cx - width / 2, cy - height / 2
    scale = SIZE[0] / width
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float32)
    return cv2.warpAffine(image, matrix, SIZE, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


def frames(astronaut: np.ndarray) -> list[np.ndarray]:
    """Seven seconds: zoom onto the face, pan away from it, then two faces side by side."""
    out = []
    for i in range(int(2.5 * FPS)):  # zoom onto the face
        k = _ease(i / (2.5 * FPS - 1))
        out.append(_crop(astronaut, 256 - 40 * k, 200 - 60 * k, 512 - 212 * k))
    for i in range(int(2.5 * FPS)):  # pan to the flag and the suit, no face in view
        k = _ease(min(1.0, i / (1.0 * FPS)))
        out.append(_crop(astronaut, 216 + 200 * k, 140 + 240 * k, 300 - 120 * k))
    pair = np.concatenate([astronaut[:, ::-1], astronaut], axis=1)
    for i in range(int(2.0 * FPS)):  # two faces
        k = i / (2.0 * FPS - 1)
        out.append(_crop(pair, 512 + 30 * np.sin(k * np.pi), 256, 680 - 40 * k))
    return out


def soundtrack(seconds: float) -> np.ndarray:
    """A soft major-chord progression, stereo float32 [2, n]."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    chords = [(261.6, 329.6, 392.0), (349.2, 440.0, 523.3), (392.0, 493.9, 587.3), (261.6, 329.6, 392.0)]
    wave = np.zeros_like(t)
    span = seconds / len(chords)
    for n, chord in enumerate(chords):
        mask = (t >= n * span) & (t < (n + 1) * span)
        local = t[mask] - n * span
        envelope = np.minimum(1, local * 8) * np.exp(-local * 0.6)
        wave[mask] = sum(np.sin(2 * np.pi * f * t[mask]) for f in chord) * envelope / len(chord)
    return np.stack([wave, wave]).astype(np.float32) * 0.3


def write_clip(path: Path) -> None:
    """Encode the frames as H.264 and the sound as AAC into an MP4."""
    import skimage.data

    astronaut = skimage.data.astronaut()
    pictures = frames(astronaut)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        video.options = {"crf": "23", "preset": "slow"}
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        for picture in pictures:
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        sound = soundtrack(len(pictures) / FPS)
        chunk = 1024
        for start in range(0, sound.shape[1], chunk):
            block = np.ascontiguousarray(sound[:, start:start + chunk])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)


def main() -> int:
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("emocam/data/sample.mp4"))
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_clip(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
