"""Frame sinks: a crash-safe H.264 video writer that copies audio untouched, and an image writer."""
from __future__ import annotations

import math
import threading
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import av
import cv2
import numpy as np

from emocam.io.output_paths import clear_scratch, finish, scratch_path, write_failure
from emocam.errors import EmocamError
from emocam.io.audio_track import AudioTrack
from emocam.io.skipped import SkippedPackets

if TYPE_CHECKING:
    from emocam.pipeline.loop import Processed

# No B-frames: fragmented MP4 has no edit list, so B-frame delay would shift the video against the audio.
# Fragmented MP4: every keyframe starts a fragment that is complete on disk, so a file cut short by
# a crash, Ctrl-C or kill -9 stays playable up to its last fragment.
FRAGMENTED = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "flush_packets": "1",
    # keep copied audio priming (negative pts) from shifting every video frame
    "avoid_negative_ts": "disabled",
}
FRAGMENTED_SUFFIXES = {".mp4", ".mov", ".m4v"}
KEYFRAME_INTERVAL_S = 1.0
# x264's lookahead at the preset used: how many frames after a frame can change how it is encoded (its
# macroblock tree gives blocks that later frames reference more bits). A chunk of a batch feeds this many
# frames past its end to the encoder (`lookahead`), so its last frames come out as in a single render.
PRESET = "veryfast"
ENCODER_LOOKAHEAD = 10


class VideoSink:
    """Writes RGB frames as H.264 (keyframe at least every second); copies an audio stream packet for packet."""

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: float,
        audio: av.audio.stream.AudioStream | None = None,
        time_base: Fraction | None = None,
        low_latency: bool = False,
        crf: int = 20,
        skipped: SkippedPackets | None = None,
    ) -> None:
        self.path = Path(path)
        self.size = size
        self.fps = fps
        options = FRAGMENTED if self.path.suffix.lower() in FRAGMENTED_SUFFIXES else {}
        try:
            self.container = av.open(str(self.path), "w", options=dict(options))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise EmocamError(f"cannot write {self.path}: {getattr(exc, 'strerror', None) or exc}") from None
        rate = Fraction(fps).limit_denominator(1001)
        self.video = self.container.add_stream("libx264", rate=rate)
        # H.264 in 4:2:0 (the one every player plays) needs even sides: an odd side gets one more row or
        # column repeating the edge pixels, never a resize (see `padded`)
        self.video.width, self.video.height = _even(size[0]), _even(size[1])
        self.padded = (self.video.width, self.video.height) != tuple(size)
        self.video.pix_fmt = "yuv420p"
        self.video.time_base = time_base or Fraction(1, 90000)
        gop = max(1, math.floor(fps))
        codec_options = {"preset": PRESET, "crf": str(crf), "keyint_min": "1", "x264-params": f"keyint={gop}:scenecut=0:bframes=0"}
        if low_latency:
            codec_options["tune"] = "zerolatency"  # no lookahead: what is written survives a kill
        self.video.options = codec_options
        self.video.codec_context.gop_size = gop
        # encode in the stream's fine time base: live frames come at uneven times, not on 1/fps slots
        self.video.codec_context.time_base = self.video.time_base
        self._last_keyframe_time: float | None = None
        self.audio_in = audio
        self.skipped = skipped if skipped is not None else SkippedPackets()
        try:
            mp4 = self.path.suffix.lower() in FRAGMENTED_SUFFIXES
            self.audio = AudioTrack(self.container, audio, mp4, self.skipped) if audio is not None else None
        except (av.FFmpegError, ValueError) as exc:
            self.container.close()
            raise EmocamError(f"cannot write the input's {audio.codec_context.name} audio to {self.path}: {exc}") from None
        self.audio_note = self.audio.note if self.audio is not None else "none"
        self.frames_written = 0
        self._last_pts = -1
        self._tail_pts: int | None = None  # the first lookahead-only frame's pts: its packets are never written
        self._lock = threading.Lock()
        self._closed = False

    def write(self, item: "Processed") -> None:
        """The frame loop's sink interface: encode the item's image at its source time."""
        self.encode(item.image, item.frame.time)

    def lookahead(self, image: np.ndarray, time: float) -> None:
        """Feed a frame that follows the last one written to the encoder's lookahead only: it shapes how the
        frames before it are encoded, and neither it nor any later frame is written."""
        self.encode(image, time, written=False)

    def encode(self, image: np.ndarray, time: float | None = None, written: bool = True) -> None:
        """Encode one RGB frame shown at `time` seconds (default: the next frame slot)."""
        if written and self._tail_pts is not None:
            raise ValueError("a frame to write after a lookahead-only frame")
        h, w = image.shape[:2]
        if (w, h) != tuple(self.size):
            image = cv2.resize(image, tuple(self.size), interpolation=cv2.INTER_AREA)
        if self.padded:
            image = cv2.copyMakeBorder(image, 0, self.video.height - self.size[1], 0, self.video.width - self.size[0],
                                       cv2.BORDER_REPLICATE)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        t = self.frames_written / self.fps if time is None else time
        pts = max(int(round(t / self.video.time_base)), self._last_pts + 1)
        frame.pts, frame.time_base = pts, self.video.time_base
        self._last_pts = pts
        if not written and self._tail_pts is None:
            self._tail_pts = pts
        if self._last_keyframe_time is None or t - self._last_keyframe_time >= KEYFRAME_INTERVAL_S:
            frame.pict_type = av.video.frame.PictureType.I  # a fragment boundary at least every second
            self._last_keyframe_time = t
        with self._lock:
            self._mux(lambda: self.video.encode(frame))
        self.frames_written += written

    def _mux(self, packets: Callable[[], Iterable[av.Packet]]) -> None:
        """Encode and write; any failure here (disk full, file too large, ...) is an output problem."""
        try:
            for packet in packets():
                if self._tail_pts is None or packet.stream is not self.video or packet.pts is None \
                        or packet.pts < self._tail_pts:
                    self.container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise write_failure(self.path, exc) from None

    def write_audio(self, packet: av.Packet) -> None:
        """Copy one audio packet from the source (re-encoded only where the container cannot hold it;
        a packet that does not decode is skipped and counted, as ffmpeg does)."""
        if self.audio is None:
            return
        with self._lock:
            self._mux(lambda: self.audio.packets(packet))

    @property
    def audio_start(self) -> int | None:
        """The first audio packet's pts in its stream's time base (a fragmented file reads it back as 0)."""
        return self.audio.first_pts if self.audio is not None else None

    @property
    def audio_packets(self) -> int:
        return self.audio.packets_in if self.audio is not None else 0

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            try:
                self._mux(lambda: self.video.encode())
                if self.audio is not None:
                    self._mux(self.audio.flush)
            finally:
                try:
                    self.container.close()
                except (av.FFmpegError, OSError) as exc:
                    raise write_failure(self.path, exc) from None


class ImageSink:
    """Writes each frame as an image: to one file, or into a folder named after each source file.

    Each image is written to a hidden scratch name and renamed when complete, so a failed write never
    leaves a half image under its name (and never writes through a link to another file). A folder's
    images go to a hidden `.NAME.partial` folder first and move into NAME only with `commit()`, so a
    render that stops part-way leaves nothing under the output name."""

    def __init__(self, path: Path, folder: bool = False, names: dict[Path, str] | None = None) -> None:
        self.path = Path(path)
        self.folder = folder
        self.names = names or {}
        self.frames_written = 0
        self.scratch_folder = scratch_path(self.path) if folder else None
        self._written: list[str] = []

    def write(self, item: "Processed") -> None:
        """The frame loop's sink interface: a folder names each image after its source file."""
        path = item.frame.path
        name = self.names.get(path) or path.with_suffix(".png").name if path is not None else None
        self.save(item.image, name)

    def save(self, image: np.ndarray, name: str | None = None) -> None:
        name = name or f"frame_{self.frames_written:06d}.png"
        if self.scratch_folder is not None:
            try:
                self.scratch_folder.mkdir(exist_ok=True)
            except OSError as exc:
                raise EmocamError(f"cannot create {self.scratch_folder}: {exc.strerror}") from None
        target = self.scratch_folder / name if self.scratch_folder is not None else self.path
        scratch = scratch_path(target)
        clear_scratch(scratch)
        try:
            written = cv2.imwrite(str(scratch), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        except cv2.error:
            written = False
        if not written:
            clear_scratch(scratch)
            raise EmocamError(f"writing {target} failed (disk full or not writable?)")
        finish(scratch, target)
        self._written.append(name)
        self.frames_written += 1

    def commit(self) -> None:
        """Move a complete folder's images under the output name (an existing folder keeps its other files)."""
        if self.scratch_folder is None:
            return
        try:
            self.path.mkdir(exist_ok=True)
        except OSError as exc:
            raise EmocamError(f"cannot create the output folder {self.path}: {exc.strerror}") from None
        for name in self._written:
            finish(self.scratch_folder / name, self.path / name)
        self.discard()

    def discard(self) -> None:
        """Remove the scratch folder if nothing is left in it."""
        if self.scratch_folder is not None and self.scratch_folder.is_dir():
            try:
                self.scratch_folder.rmdir()
            except OSError:
                pass  # files from an earlier run are left alone

    def close(self) -> None:
        pass


def _even(n: int) -> int:
    """H.264 with 4:2:0 chroma needs even sides: an odd side is padded up by one."""
    return max(2, n + n % 2)
