"""Fuzz cases for `emocam live`'s arguments (bad sources, missing cameras, bad outputs) and the tools/ commands."""
from __future__ import annotations

import os
from pathlib import Path

from fuzz import media
from fuzz.harness import case_registry, Setup

CASES, case = case_registry()


def live(argv: list[str], inputs: list[Path], message: str = "", outputs: list[Path] = ()) -> Setup:
    return Setup(["live", *argv], inputs=inputs, outputs=list(outputs), message=message)


# -- emocam live: every bad source or output is one line before any window opens -------------------------------
@case("live", "camera-99-missing", fast=True)
def _(tmp):
    return live(["--source", "99"], [], "camera 99 not found")


@case("live", "negative-camera", fast=True)
def _(tmp):
    return live(["--source=-1"], [], "not found")


@case("live", "source-missing-file", fast=True)
def _(tmp):
    return live(["--source", str(tmp / "gone.mp4")], [], "not found")


@case("live", "source-text-file", fast=True)
def _(tmp):
    (tmp / "notes.nfo").write_text("hello\n" * 50)
    return live(["--source", str(tmp / "notes.nfo")], [tmp / "notes.nfo"], "text")


@case("live", "source-random-bytes", fast=True)
def _(tmp):
    return live(["--source", str(media.random_bytes(tmp / "noise.mp4", 3000))], [tmp / "noise.mp4"])


@case("live", "source-fifo", fast=True)
def _(tmp):
    os.mkfifo(tmp / "pipe.mp4")
    return live(["--source", str(tmp / "pipe.mp4")], [], "FIFO")


@case("live", "source-dev-zero", fast=True)
def _(tmp):
    return live(["--source", "/dev/zero"], [], "device")


@case("live", "source-empty-folder", fast=True)
def _(tmp):
    (tmp / "empty").mkdir()
    return live(["--source", str(tmp / "empty")], [tmp / "empty"], "no images")


@case("live", "source-too-small-video", fast=True)
def _(tmp):
    clip = media.video(tmp / "tiny.mkv", frames=2, size=(8, 8), codec="ffv1", pix_fmt="yuv444p", fmt="matroska")
    return live(["--source", str(clip)], [clip], "at least 16")


@case("live", "source-truncated", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4", frames=10)
    return live(["--source", str(media.truncate(clip, tmp / "cut.mp4", 0.3))], [tmp / "cut.mp4"])


@case("live", "record-is-the-source", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    return live(["--source", str(clip), "--record", str(clip)], [clip], "is the input")


@case("live", "record-in-proc", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    return live(["--source", str(clip), "--record", "/proc/rec.mp4"], [clip], "/proc", [Path("/proc/rec.mp4")])


@case("live", "record-missing-folder", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    return live(["--source", str(clip), "--record", str(tmp / "no" / "rec.mp4")], [clip], "", [tmp / "no"])


@case("live", "record-is-a-folder", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    (tmp / "rec.mp4").mkdir()
    return live(["--source", str(clip), "--record", str(tmp / "rec.mp4")], [clip, tmp / "rec.mp4"], "folder")


@case("live", "record-bad-suffix", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    return live(["--source", str(clip), "--record", str(tmp / "rec.avi")], [clip], ".mp4", [tmp / "rec.avi"])


@case("live", "screenshot-equals-record", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    return live(["--source", str(clip), "--record", str(tmp / "a.mp4"), "--screenshot", str(tmp / "a.mp4")], [clip], "")


@case("live", "screenshot-name-too-long", fast=True)
def _(tmp):
    clip = media.video(tmp / "clip.mp4")
    return live(["--source", str(clip), "--screenshot", str(tmp / ("s" * 300 + ".png"))], [clip], "too long")


for _value in ("nan", "inf", "-1", "0", "1e12", "soon"):
    @case("live", f"duration-{_value}", fast=True)
    def _(tmp, value=_value):
        clip = media.video(tmp / "clip.mp4")
        return live(["--source", str(clip), "--duration", value], [clip], "duration")


@case("live", "bad-pack", fast=True)
def _(tmp):
    (tmp / "pack").mkdir()
    (tmp / "pack" / "pack.json").write_text("[]")
    clip = media.video(tmp / "clip.mp4")
    return live(["--source", str(clip), "--pack", str(tmp / "pack")], [clip, tmp / "pack"], "JSON object")


@case("live", "unknown-option", fast=True)
def _(tmp):
    return live(["--sauce", "0"], [], "unrecognized")


@case("live", "subprocess-camera-99-no-chatter", fast=True)
def _(tmp):
    setup = live(["--source", "99"], [], "camera 99 not found")
    setup.subprocess = True  # the real program: OpenCV and MediaPipe print nothing on the terminal
    return setup


# -- tools/: one line, exit 2 ----------------------------------------------------------------------------------------
def tool(module: str, argv: list[str], inputs: list[Path] = (), message: str = "error:") -> Setup:
    return Setup(argv, inputs=list(inputs), program=[module], prefix="", message=message)


@case("tools", "emotion-train-missing-data", fast=True)
def _(tmp):
    return tool("tools.emotion.train", ["--data", str(tmp / "nope"), "--out", str(tmp / "run")], message="does not exist")


@case("tools", "emotion-train-no-arguments")
def _(tmp):
    return tool("tools.emotion.train", [], message="required")


@case("tools", "emotion-train-text-as-dataset")
def _(tmp):
    (tmp / "data.nfo").write_text("x\n")
    return tool("tools.emotion.train", ["--data", str(tmp / "data.nfo"), "--out", str(tmp / "run")], [tmp / "data.nfo"])


@case("tools", "emotion-train-bad-csv")
def _(tmp):
    (tmp / "fer2013.csv").write_text("emotion,pixels,Usage\n9,1 2 3,Training\nx,,\n")
    return tool("tools.emotion.train", ["--data", str(tmp / "fer2013.csv"), "--out", str(tmp / "run")], [tmp / "fer2013.csv"])


@case("tools", "emotion-evaluate-random-onnx")
def _(tmp):
    model = media.random_bytes(tmp / "m.onnx", 2000)
    (tmp / "faces").mkdir()
    return tool("tools.emotion.evaluate", ["--model", str(model), "--data", str(tmp / "faces")], [model])


@case("tools", "style-sheet-fifo-image")
def _(tmp):
    os.mkfifo(tmp / "face.png")
    return tool("tools.style.sheet", ["--image", str(tmp / "face.png"), "-o", str(tmp / "sheet.png")])


@case("tools", "style-sheet-missing-output-option", fast=True)
def _(tmp):
    return tool("tools.style.sheet", [], message="required")


@case("tools", "style-train-bad-steps")
def _(tmp):
    return tool("tools.style.train", ["--steps", "x", "--out", str(tmp / "run")], message="invalid int")


@case("tools", "style-evaluate-missing-pack")
def _(tmp):
    return tool("tools.style.evaluate", ["--pack", "nope"], message="not found")


@case("tools", "soak-minutes-nan", fast=True)
def _(tmp):
    return tool("tools.soak", ["--minutes", "nan"], message="finite")


@case("tools", "bench-bad-size")
def _(tmp):
    return tool("tools.bench", ["--sizes", "10x10"], message="even sides")
