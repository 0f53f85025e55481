"""Frame sources: video files (PyAV, timestamps and audio kept), images, image folders, webcams."""
from __future__ import annotations

import importlib.resources
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av
import cv2
import numpy as np

from emocam.errors import EmocamError

SAMPLE_CLIP = Path(str(importlib.resources.files("emocam").joinpath("data", "sample.mp4")))  # bundled default input (package data)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
AudioCallback = Callable[[av.Packet], None]


@dataclass
class Frame:
    """One RGB frame and its presentation time in seconds (a video file's own timestamps)."""

    image: np.ndarray
    time: float
    index: int
    path: Path | None = None  # the image file it came from (image sources), for naming outputs


class VideoFileSource:
    """Decodes a video file with PyAV; optionally hands its audio packets to a callback untouched."""

    kind = "video"

    def __init__(self, path: Path, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        try:
            self.container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as exc:
            raise EmocamError(f"cannot open {self.path} as a video: {_reason(exc)}") from None
        if not self.container.streams.video:
            self.container.close()
            raise EmocamError(f"{self.path} has no video stream")
        self.video = self.container.streams.video[0]
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        self.video.thread_type = "AUTO"
        rate = self.video.average_rate or self.video.guessed_rate
        self.fps = float(rate) if rate else 30.0
        self.rate = rate
        self.size = (self.video.codec_context.width, self.video.codec_context.height)
        if not all(self.size):
            raise EmocamError(f"{self.path} has a video stream with no picture size")
        self.frame_count = self._estimate_frames()

    def _estimate_frames(self) -> int:
        if self.video.frames:
            return int(self.video.frames)
        if self.video.duration and self.video.time_base:
            return int(round(float(self.video.duration * self.video.time_base) * self.fps))
        if self.container.duration:
            return int(round(self.container.duration / av.time_base * self.fps))
        return 0

    def frames(self, on_audio: AudioCallback | None = None) -> Iterator[Frame]:
        """Yield decoded frames in order; with `on_audio`, audio packets are passed through as read."""
        index, offset = 0, 0.0
        while True:
            last = offset
            for frame in self._decode_once(on_audio):
                t = offset + frame.time
                last = t
                yield Frame(frame.image, t, index)
                index += 1
            if not self.loop or index == 0:
                break
            offset = last + 1.0 / self.fps
            self.container.seek(0)
            on_audio = None  # audio is passed through once, never looped
        if index == 0:
            raise EmocamError(f"{self.path} contains no decodable video frames")

    def _decode_once(self, on_audio: AudioCallback | None) -> Iterator[Frame]:
        streams = [self.video] + ([self.audio] if on_audio and self.audio else [])
        try:
            for packet in self.container.demux(*streams):
                if packet.stream is not self.video:
                    if packet.dts is not None:
                        on_audio(packet)
                    continue
                for frame in packet.decode():
                    t = float(frame.time) if frame.time is not None else 0.0
                    yield Frame(frame.to_ndarray(format="rgb24"), t, -1)
        except av.FFmpegError as exc:
            raise EmocamError(f"{self.path} is damaged or truncated: {_reason(exc)}") from None

    def close(self) -> None:
        self.container.close()


class ImageSource:
    """One image or every image of a folder (sorted by name), one frame each."""

    kind = "images"

    def __init__(self, paths: list[Path], fps: float = 1.0) -> None:
        if not paths:
            raise EmocamError("no images found")
        self.paths = paths
        self.fps = fps
        first = read_image(paths[0])
        self.size = (first.shape[1], first.shape[0])
        self.frame_count = len(paths)
        self.audio = None

    def frames(self, on_audio: AudioCallback | None = None) -> Iterator[Frame]:
        for i, path in enumerate(self.paths):
            yield Frame(read_image(path), i / self.fps, i, path)

    def close(self) -> None:
        pass


class CameraSource:
    """A webcam through OpenCV; frames are timed by the wall clock."""

    kind = "camera"

    def __init__(self, index: int, size: tuple[int, int] | None = None) -> None:
        self.index = index
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            raise EmocamError(f"camera {index} could not be opened (is it connected and free?)")
        if size:
            self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.size = (int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.frame_count = 0
        self.audio = None

    def frames(self, on_audio: AudioCallback | None = None) -> Iterator[Frame]:
        start, index = time.monotonic(), 0
        while True:
            ok, bgr = self.capture.read()
            if not ok:
                raise EmocamError(f"camera {self.index} stopped delivering frames (unplugged?)")
            yield Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic() - start, index)
            index += 1

    def close(self) -> None:
        self.capture.release()


Source = VideoFileSource | ImageSource | CameraSource


def read_image(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8, or raise EmocamError."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise EmocamError(f"cannot read {path}: {exc.strerror}") from None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # imdecode fails quietly, imread warns
    if bgr is None:
        raise EmocamError(f"cannot read {path} as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def open_source(spec: str | int | Path, loop: bool = False) -> Source:
    """Open a camera index, an image, a folder of images or a video file."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec))
    path = Path(spec)
    if not path.exists():
        raise EmocamError(f"input not found: {path}")
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise EmocamError(f"folder {path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return ImageSource(images)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path])
    if path.stat().st_size == 0:
        raise EmocamError(f"{path} is empty")
    return VideoFileSource(path, loop=loop)


def list_cameras() -> list[tuple[int, str]]:
    """Cameras by index and name where the platform names them (Linux: /sys/class/video4linux)."""
    cameras = []
    for node in sorted(Path("/sys/class/video4linux").glob("video*")):
        try:
            index = int(node.name.removeprefix("video"))
            name = (node / "name").read_text().strip()
        except (ValueError, OSError):
            continue
        cameras.append((index, name))
    return cameras


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]
