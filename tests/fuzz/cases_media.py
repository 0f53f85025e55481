"""Fuzz cases about what is read: hostile files, valid odd videos, images and folders."""
from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np

from fuzz import media
from fuzz.harness import EITHER, FAIL, OK, case_registry, Setup

SAMPLE = Path(__file__).resolve().parents[2] / "emocam" / "data" / "sample.mp4"
FAST_RENDER = ["--process-size", "32", "--device", "cpu"]
CASES, case = case_registry()


def render(tmp: Path, source: Path | str, out: str = "out.mp4", *extra: str, expect: str = FAIL, message: str = "",
           check=None, inputs: list[Path] | None = None) -> Setup:
    output = tmp / out
    return Setup(["render", str(source), "-o", str(output), *FAST_RENDER, *extra],
                 inputs=inputs if inputs is not None else [Path(source)], outputs=[output],
                 expect=expect, message=message, check=check)


def decoded(path: Path) -> tuple[list[np.ndarray], list[float], list[str]]:
    with av.open(str(path)) as container:
        frames = [(f.to_ndarray(format="rgb24"), float(f.time)) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = [getattr(s.codec_context.codec, "canonical_name", s.codec_context.name) for s in container.streams.audio]
    return [f for f, _ in frames], [t for _, t in frames], audio


def expect_video(out: Path, frames: int, size: tuple[int, int], times: list[float] | None = None,
                 audio: list[str] | None = None):
    def check() -> None:
        images, stamps, streams = decoded(out)
        assert len(images) == frames, (len(images), frames)
        assert images[0].shape[:2] == (size[1], size[0]), images[0].shape
        if times is not None:
            np.testing.assert_allclose(stamps, times, atol=2e-3)
        if audio is not None:
            assert streams == audio, streams
    return check


# -- files that are not videos or images -----------------------------------------------------------
@case("input", "missing", fast=True)
def _(tmp):
    return render(tmp, tmp / "nope.mp4", message="input not found", inputs=[])


@case("input", "empty-file", fast=True)
def _(tmp):
    (tmp / "empty.mp4").write_bytes(b"")
    return render(tmp, tmp / "empty.mp4", message="empty")


for _size in (1, 333, 20_000):
    for _suffix in (".mp4", ".mkv", ".avi", ""):
        @case("input", f"random-{_size}-bytes{_suffix or '-no-suffix'}", fast=_size == 333)
        def _(tmp, size=_size, suffix=_suffix):
            return render(tmp, media.random_bytes(tmp / f"noise{suffix}", size, seed=size))


for _name, _text in (("notes.mp4", "this is not a video\n"), ("notes.ans", "hello\nworld\n" * 40),
                     ("notes.nfo", "ANSI art\n" * 30), ("notes.bin", "binary text\n" * 30),
                     ("subs.srt", "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n"), ("notes", "# a README\n" * 20)):
    @case("input", f"text-{_name}", fast=True)
    def _(tmp, name=_name, text=_text):
        (tmp / name).write_text(text)
        return render(tmp, tmp / name)


for _fraction in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 0.995):
    @case("input", f"truncated-at-{_fraction * 100:g}pc", fast=_fraction in (0.2, 0.8))
    def _(tmp, fraction=_fraction):
        clip = media.video(tmp / "clip.mp4", frames=30, audio="aac", movflags="faststart")
        # a cut that only loses trailing audio still holds every frame: then it renders, all 30 frames
        setup = render(tmp, media.truncate(clip, tmp / "cut.mp4", fraction), expect=EITHER if fraction > 0.9 else FAIL)
        setup.check = expect_video(tmp / "out.mp4", 30, (64, 48))
        return setup


@case("input", "truncated-sample-at-50pc")
def _(tmp):
    return render(tmp, media.truncate(SAMPLE, tmp / "cut.mp4", 0.5), message="ends early")


@case("input", "zero-frames", fast=True)
def _(tmp):
    data = SAMPLE.read_bytes()
    (tmp / "hollow.mp4").write_bytes(data[: data.find(b"mdat") + 4])
    return render(tmp, tmp / "hollow.mp4")


@case("input", "truncated-mkv-keeps-its-duration")
def _(tmp):
    clip = media.video(tmp / "long.mkv", frames=40, fmt="matroska")
    return render(tmp, media.truncate(clip, tmp / "cut.mkv", 0.6))


for _marker in (b"moov", b"stco", b"stsz", b"stts", b"avcC", b"mdat"):
    @case("input", f"corrupt-mp4-{_marker.decode()}", fast=_marker in (b"stco", b"moov"))
    def _(tmp, marker=_marker):
        clip = media.video(tmp / "clip.mp4", frames=8)
        bad = media.corrupt(clip, tmp / "bad.mp4", marker=marker, count=24)
        return render(tmp, bad, expect=EITHER)


for _at in (0.1, 0.5, 0.9):
    @case("input", f"corrupt-mkv-at-{int(_at * 100)}pc")
    def _(tmp, at=_at):
        clip = media.video(tmp / "clip.mkv", frames=8, fmt="matroska")
        return render(tmp, media.corrupt(clip, tmp / "bad.mkv", at=at, count=48), expect=EITHER)


@case("input", "corrupt-mkv-cues", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mkv", frames=8, fmt="matroska")
    return render(tmp, media.corrupt(clip, tmp / "bad.mkv", marker=b"\x1c\x53\xbb\x6b", count=32), expect=EITHER)


for _codec, _suffix in (("aac", ".m4a"), ("mp3", ".mp3"), ("pcm_s16le", ".wav")):
    @case("input", f"audio-only-{_suffix[1:]}", fast=_suffix == ".wav")
    def _(tmp, codec=_codec, suffix=_suffix):
        return render(tmp, media.audio_only(tmp / f"sound{suffix}", codec), message="no video stream")


@case("input", "fifo-as-video", fast=True)
def _(tmp):
    os.mkfifo(tmp / "pipe.mp4")
    return render(tmp, tmp / "pipe.mp4", message="FIFO", inputs=[])


@case("input", "dev-zero", fast=True)
def _(tmp):
    return render(tmp, "/dev/zero", message="device", inputs=[])


@case("input", "dev-null", fast=True)
def _(tmp):
    return render(tmp, "/dev/null", message="device", inputs=[])


@case("input", "dangling-symlink", fast=True)
def _(tmp):
    os.symlink(tmp / "gone.mp4", tmp / "link.mp4")
    return render(tmp, tmp / "link.mp4", message="not found", inputs=[tmp / "link.mp4"])


@case("input", "symlink-loop", fast=True)
def _(tmp):
    os.symlink(tmp / "b.mp4", tmp / "a.mp4")
    os.symlink(tmp / "a.mp4", tmp / "b.mp4")
    return render(tmp, tmp / "a.mp4", inputs=[])


@case("input", "png-bytes-named-mp4", fast=True)
def _(tmp):
    media.image(tmp / "still.png", (64, 64))
    os.replace(tmp / "still.png", tmp / "still.mp4")
    return render(tmp, tmp / "still.mp4", expect=EITHER)


@case("input", "mp4-bytes-named-png", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    os.replace(clip, tmp / "clip.png")
    return render(tmp, tmp / "clip.png", "out.png", message="not a PNG")


# -- valid videos in odd formats: rendered with the right frames, size, times and audio -----------------
def valid(tmp: Path, clip: Path, frames: int, size, *extra, out="out.mp4", times=None, audio=None) -> Setup:
    output = tmp / out
    setup = render(tmp, clip, out, *extra, expect=OK)
    setup.check = expect_video(output, frames, size, times, audio)
    return setup


@case("formats", "h264-baseline", fast=True)
def _(tmp):
    return valid(tmp, media.video(tmp / "clip.mp4"), 6, (64, 48))


@case("formats", "vfr-12-frames-over-9s-mkv", fast=True)
def _(tmp):
    times = [i * 9 / 11 for i in range(12)]
    return valid(tmp, media.video(tmp / "vfr.mkv", frames=12, times=times, fmt="matroska"), 12, (64, 48), times=times)


@case("formats", "vfr-12-frames-over-9s-mp4")
def _(tmp):
    times = [i * 9 / 11 for i in range(12)]
    return valid(tmp, media.video(tmp / "vfr.mp4", frames=12, times=times), 12, (64, 48), times=times)


@case("formats", "vfr-irregular-gaps-mkv")
def _(tmp):
    times = [0, 0.1, 0.15, 2.0, 2.05, 5.0, 5.5, 8.9]
    return valid(tmp, media.video(tmp / "gaps.mkv", frames=8, times=times, fmt="matroska"), 8, (64, 48), times=times)


for _label, _codec, _pix, _fmt, _suffix in (
    ("10bit-ffv1", "ffv1", "yuv420p10le", "matroska", ".mkv"),
    ("10bit-x265", "libx265", "yuv420p10le", "matroska", ".mkv"),
    ("10bit-prores", "prores_ks", "yuv422p10le", "mov", ".mov"),
    ("444-x264", "libx264", "yuv444p", "mp4", ".mp4"),
    ("444-ffv1", "ffv1", "yuv444p", "matroska", ".mkv"),
    ("mpeg4-avi", "mpeg4", "yuv420p", "avi", ".avi"),
    ("mjpeg-avi", "mjpeg", "yuvj420p", "avi", ".avi"),
    ("vp8-webm", "libvpx", "yuv420p", "webm", ".webm"),
    ("vp9-webm", "libvpx-vp9", "yuv420p", "webm", ".webm"),
    ("mpeg2-ts", "mpeg2video", "yuv420p", "mpegts", ".ts"),
    ("h264-mov", "libx264", "yuv420p", "mov", ".mov"),
):
    @case("formats", _label, fast=_label in ("10bit-ffv1", "444-x264", "vp9-webm"))
    def _(tmp, codec=_codec, pix=_pix, fmt=_fmt, suffix=_suffix):
        options = {"x265-params": "log-level=none"} if codec == "libx265" else None
        return valid(tmp, media.video(tmp / f"clip{suffix}", codec=codec, pix_fmt=pix, fmt=fmt, options=options), 6, (64, 48))


for _w, _h, _fast in ((65, 49, True), (17, 33, False), (99, 16, False)):
    @case("formats", f"odd-size-{_w}x{_h}-padded", fast=_fast)
    def _(tmp, w=_w, h=_h):
        clip = media.video(tmp / "odd.mkv", size=(w, h), codec="ffv1", pix_fmt="yuv444p", fmt="matroska")
        setup = valid(tmp, clip, 6, (w + w % 2, h + h % 2))
        return setup


for _w, _h in ((16, 16), (4000, 16), (16, 1000)):
    @case("formats", f"small-side-{_w}x{_h}-renders", fast=(_w, _h) == (4000, 16))
    def _(tmp, w=_w, h=_h):
        clip = media.video(tmp / "thin.mkv", frames=3, size=(w, h), codec="ffv1", pix_fmt="yuv444p", fmt="matroska")
        return valid(tmp, clip, 3, (w, h))


for _w, _h in ((8, 8), (15, 64), (64, 2), (2, 2)):
    @case("formats", f"too-small-{_w}x{_h}-refused", fast=(_w, _h) == (8, 8))
    def _(tmp, w=_w, h=_h):
        clip = media.video(tmp / "tiny.mkv", frames=3, size=(w, h), codec="ffv1", pix_fmt="yuv444p", fmt="matroska")
        return render(tmp, clip, message="at least 16 pixels")


@case("formats", "one-frame", fast=True)
def _(tmp):
    return valid(tmp, media.video(tmp / "one.mp4", frames=1), 1, (64, 48))


for _label, _vcodec, _fmt, _suffix, _acodec, _out_audio in (
    ("avi-ac3", "mpeg4", "avi", ".avi", "ac3", "aac"),
    ("mkv-eac3", "libx264", "matroska", ".mkv", "eac3", "aac"),
    ("avi-pcm", "mpeg4", "avi", ".avi", "pcm_s16le", "aac"),
    ("mov-pcm", "libx264", "mov", ".mov", "pcm_s16le", "aac"),
    ("mkv-flac", "libx264", "matroska", ".mkv", "flac", "flac"),
    ("mkv-opus", "libx264", "matroska", ".mkv", "libopus", "opus"),
    ("mp4-mp3", "libx264", "mp4", ".mp4", "libmp3lame", "mp3"),
    ("mp4-aac", "libx264", "mp4", ".mp4", "aac", "aac"),
):
    @case("formats", f"audio-{_label}", fast=_label in ("avi-ac3", "mkv-opus"))
    def _(tmp, vcodec=_vcodec, fmt=_fmt, suffix=_suffix, acodec=_acodec, out_audio=_out_audio):
        clip = media.video(tmp / f"clip{suffix}", codec=vcodec, fmt=fmt, audio=acodec,
                           audio_rate=48000 if acodec != "libopus" else 48000)
        setup = valid(tmp, clip, 6, (64, 48), audio=[out_audio])
        return setup


@case("formats", "audio-ac3-into-mkv-copied")
def _(tmp):
    clip = media.video(tmp / "clip.avi", codec="mpeg4", fmt="avi", audio="ac3")
    return valid(tmp, clip, 6, (64, 48), out="out.mkv", audio=["ac3"])


@case("formats", "audio-mono-aac", fast=False)
def _(tmp):
    clip = media.video(tmp / "clip.mp4", audio="aac", layout="mono")
    return valid(tmp, clip, 6, (64, 48), audio=["aac"])


@case("formats", "audio-5.1-ac3")
def _(tmp):
    clip = media.video(tmp / "clip.avi", codec="mpeg4", fmt="avi", audio="ac3", layout="5.1")
    return valid(tmp, clip, 6, (64, 48), audio=["aac"])


for _rate, _layout in ((192000, "stereo"), (8000, "mono"), (96000, "7.1"), (11025, "quad")):
    @case("formats", f"audio-pcm-{_rate}hz-{_layout}", fast=_rate == 192000)
    def _(tmp, rate=_rate, layout=_layout):
        clip = media.video(tmp / "clip.mov", fmt="mov", audio="pcm_s16le", audio_rate=rate, layout=layout)
        return valid(tmp, clip, 6, (64, 48), audio=["aac"])
