"""Frame sources: video files (PyAV, timestamps and audio kept), images, image folders, webcams."""
from __future__ import annotations

import importlib.resources
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av
import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.io.skipped import SkippedPackets, decode_packet
from emocam.io.image_probe import MAX_PIXELS, MAX_SIDE, check_frame_size, image_size

SAMPLE_CLIP = Path(str(importlib.resources.files("emocam").joinpath("data", "sample.mp4")))  # bundled default input (package data)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
AudioCallback = Callable[[av.Packet], None]
# ffmpeg demuxers and decoders that turn any text file into "video" (the tty demuxer draws the text)
TEXT_FORMATS = {"tty", "bin", "idf", "xbin", "adf", "srt", "ass", "webvtt", "subviewer", "microdvd"}
TEXT_CODECS = {"ansi", "bintext", "xbin", "idf"}
# a decoded stream this much shorter than its header says is treated as truncated
TRUNCATION_TOLERANCE = 0.02


# PyAV before 19 decodes metadata strictly unless told to replace; 19 dropped the option (and replaces itself)
_METADATA_OPTION = {"metadata_errors": "replace"} if int(av.__version__.split(".")[0]) < 19 else {}


def open_input(path: Path) -> av.container.InputContainer:
    """Open a media file for reading; metadata in a damaged header need not be UTF-8, and never fails a title."""
    return av.open(str(path), **_METADATA_OPTION)


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
        self.skipped = SkippedPackets()  # damaged packets left out so far (the sink counts audio ones here too)
        try:
            self.container = open_input(self.path)
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise EmocamError(f"cannot open {self.path} as a video: {_reason(exc)}") from None
        text = self.container.format.name in TEXT_FORMATS or any(
            s.codec_context is not None and s.codec_context.name in TEXT_CODECS for s in self.container.streams.video)
        # a stream whose codec ffmpeg cannot name (a damaged header) has no decoder: it cannot be played
        videos = [s for s in self.container.streams.video if s.codec_context is not None]
        if text or not videos:
            self.container.close()
            raise EmocamError(f"{self.path} is text, not a video" if text else f"{self.path} has no video stream "
                              f"it can decode{' (damaged header?)' if self.container.streams.video else ''}")
        self.video = videos[0]
        audio = [s for s in self.container.streams.audio if s.codec_context is not None]
        self.audio = audio[0] if audio else None
        self.video.thread_type = "AUTO"
        rate = self.video.average_rate or self.video.guessed_rate
        self.fps = float(rate) if rate else 30.0
        self.rate = rate
        self.size = (self.video.codec_context.width, self.video.codec_context.height)
        if not all(self.size):
            self.container.close()
            raise EmocamError(f"{self.path} has a video stream with no picture size")
        try:
            check_frame_size(*self.size, f"the video {self.path}")
        except EmocamError:
            self.container.close()
            raise
        # the header's frame count is exact; a count from duration x rate is only a guess (wrong for
        # variable frame rate), so it is left at 0 and completeness is judged by timestamps instead
        self.frame_count = int(self.video.frames or 0)
        self.duration = self._duration()

    def _duration(self) -> float | None:
        """The length the header promises, in seconds (None when it does not say)."""
        if self.video.duration and self.video.time_base:
            return float(self.video.duration * self.video.time_base)
        if self.container.duration:
            return self.container.duration / av.time_base
        return None

    def _check_complete(self, count: int, last: float, largest_gap: float) -> None:
        """Raise if the decoded frames fall clearly short of what the header promises (a truncated file)."""
        count += self.skipped.video  # skipped packets are accounted for, not missing
        if self.frame_count and count < self.frame_count * (1 - TRUNCATION_TOLERANCE) - 1:
            raise EmocamError(f"{self.path} ends early: decoded {count} of {self.frame_count} frames (truncated?)")
        # only containers that store their length (not ones where ffmpeg guesses it from the bit rate)
        stored = any(name in self.container.format.name for name in ("matroska", "webm", "mov", "mp4"))
        if not self.frame_count and self.duration and stored:
            slack = max(1.0, 2 * largest_gap, TRUNCATION_TOLERANCE * self.duration)
            if self.duration - last > slack:
                raise EmocamError(f"{self.path} ends early: frames stop at {last:.1f} s of {self.duration:.1f} s (truncated?)")

    def frames(self, on_audio: AudioCallback | None = None) -> Iterator[Frame]:
        """Yield decoded frames in order; with `on_audio`, audio packets are passed through as read."""
        index, offset = 0, 0.0
        while True:
            last, first, largest_gap = offset, None, 0.0
            for frame in self._decode_once(on_audio):
                t = offset + frame.time
                largest_gap = max(largest_gap, t - last) if first is not None else 0.0
                first = t if first is None else first
                last = t
                yield Frame(frame.image, t, index)
                index += 1
            if not self.loop and index:
                self._check_complete(index, last, largest_gap)
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
                for frame in decode_packet(packet, self.skipped):
                    t = float(frame.time) if frame.time is not None else 0.0
                    if (frame.width, frame.height) != self.size:  # a size change mid-stream (the sink rescales)
                        check_frame_size(frame.width, frame.height, f"a frame of {self.path}")
                    yield Frame(frame.to_ndarray(format="rgb24"), t, -1)
        except (av.FFmpegError, ValueError) as exc:  # ValueError: a pixel format PyAV cannot convert
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
        for path in paths:  # every header is checked before any image is processed or written
            _, width, height = image_size(path)
            check_frame_size(width, height, f"the image {path}")
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
    """Read an image file as RGB uint8, or raise EmocamError (special files and oversized headers included)."""
    _require_regular_file(Path(path))
    _, width, height = image_size(path)
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        check_frame_size(width, height, f"the image {path}")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise EmocamError(f"cannot read {path}: {exc.strerror}") from None
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # imdecode fails quietly, imread warns
    except cv2.error:
        bgr = None
    if bgr is None:
        raise EmocamError(f"cannot read {path} as an image (damaged?)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _require_regular_file(path: Path) -> os.stat_result:
    """A FIFO, device or socket would block or never end: refuse it before opening."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise EmocamError(f"input not found: {path}") from None
    except OSError as exc:
        raise EmocamError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise EmocamError(f"{path} is a device, FIFO or socket, not a video or image file")
    return info


def folder_images(folder: Path) -> list[Path]:
    """The images of a folder, sorted by name: visible files with an image suffix (others are ignored)."""
    try:
        names = sorted(entry for entry in os.listdir(folder))
    except OSError as exc:
        raise EmocamError(f"cannot read folder {folder}: {exc.strerror}") from None
    images = [folder / name for name in names if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise EmocamError(f"folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    for path in images:
        if os.path.isdir(path):
            raise EmocamError(f"{path} in the input folder is a folder, not an image")
        _require_regular_file(path)
    return images


def open_source(spec: str | int | Path, loop: bool = False) -> Source:
    """Open a camera index, an image, a folder of images or a video file."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec))
    path = Path(spec)
    if not os.path.exists(path):
        raise EmocamError(f"input not found: {path}")
    if os.path.isdir(path):
        return ImageSource(folder_images(path))
    info = _require_regular_file(path)
    if info.st_size == 0:
        raise EmocamError(f"{path} is empty")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path])
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
