"""Fuzz cases about where results go (outputs, --json, partial files, folders), names and options."""
from __future__ import annotations

import os
import signal
from pathlib import Path


from fuzz import media
from fuzz.cases_media import FAST_RENDER, expect_video
from fuzz.harness import FAIL, OK, case_registry, Setup

CASES, case = case_registry()


def clip(tmp: Path, name: str = "clip.mp4", **kwargs) -> Path:
    return media.video(tmp / name, **kwargs)


def paths(tmp: Path, source: Path, output: Path, json: Path | None = None, *, expect=FAIL, message="",
          inputs=None, outputs=None) -> Setup:
    argv = ["render", str(source), "-o", str(output), *FAST_RENDER] + (["--json", str(json)] if json else [])
    return Setup(argv, inputs=inputs if inputs is not None else [source],
                 outputs=outputs if outputs is not None else [output] + ([json] if json else []),
                 expect=expect, message=message)


# -- outputs that would destroy an input or each other ------------------------------------------------------
@case("outputs", "output-is-input", fast=True)
def _(tmp):
    source = clip(tmp)
    return paths(tmp, source, source, message="is the input", outputs=[])


LINKS = (("symlink", os.symlink, "link.mp4"), ("hard-link", os.link, "twin.mp4"))  # a second name for the input

for _kind, _link, _name in LINKS:
    @case("outputs", f"output-{_kind}-to-input", fast=True)
    def _(tmp, link=_link, name=_name):
        source = clip(tmp)
        link(source, tmp / name)
        return paths(tmp, source, tmp / name, message="is the input", inputs=[source, tmp / name], outputs=[])


@case("outputs", "input-is-the-partial-file", fast=True)
def _(tmp):
    source = clip(tmp, "X.partial.mp4")
    return paths(tmp, source, tmp / "X.mp4", message="is the input")


@case("outputs", "partial-name-symlinks-to-input", fast=True)
def _(tmp):
    source = clip(tmp)
    os.symlink(source, tmp / "out.partial.mp4")
    return paths(tmp, source, tmp / "out.mp4", message="is the input", inputs=[source, tmp / "out.partial.mp4"])


@case("outputs", "json-is-input", fast=True)
def _(tmp):
    source = clip(tmp)
    return paths(tmp, source, tmp / "out.mp4", source, message="is the input", outputs=[tmp / "out.mp4"])


@case("outputs", "json-is-output", fast=True)
def _(tmp):
    source = clip(tmp)
    return paths(tmp, source, tmp / "out.mp4", tmp / "out.mp4", message="same file")


@case("outputs", "json-is-partial", fast=True)
def _(tmp):
    source = clip(tmp)
    return paths(tmp, source, tmp / "out.mp4", tmp / "out.partial.mp4", message="same file")


for _kind, _link, _ in LINKS:
    @case("outputs", f"json-{_kind}-to-input", fast=True)
    def _(tmp, link=_link):
        source = clip(tmp)
        link(source, tmp / "records.jsonl")
        return paths(tmp, source, tmp / "out.mp4", tmp / "records.jsonl", message="is the input",
                     inputs=[source, tmp / "records.jsonl"], outputs=[tmp / "out.mp4"])


@case("outputs", "json-is-the-emotion-model", fast=True)
def _(tmp):
    from emocam.modelstore.manifest import find_model

    model = tmp / "model.onnx"
    model.write_bytes(find_model("emotion_fer_minixception.onnx").read_bytes())
    setup = paths(tmp, clip(tmp), tmp / "out.mp4", model, message="is the input", outputs=[tmp / "out.mp4"])
    setup.argv += ["--emotion-model", str(model)]
    setup.inputs.append(model)
    return setup


@case("outputs", "image-output-is-input", fast=True)
def _(tmp):
    source = media.image(tmp / "face.png")
    return paths(tmp, source, source, message="is the input", outputs=[])


@case("outputs", "folder-output-is-input-folder", fast=True)
def _(tmp):
    folder = tmp / "photos"
    folder.mkdir()
    media.image(folder / "a.png")
    media.image(folder / "b.jpg")
    return paths(tmp, folder, folder, message="holds the input", inputs=[folder], outputs=[])


@case("outputs", "folder-output-is-a-file", fast=True)
def _(tmp):
    folder = tmp / "photos"
    folder.mkdir()
    media.image(folder / "a.png")
    (tmp / "taken").write_text("x")
    return paths(tmp, folder, tmp / "taken", message="existing file", inputs=[folder, tmp / "taken"], outputs=[])


# -- outputs that cannot be written -----------------------------------------------------------------------------
for _label, _target in (("missing-folder", "nowhere/deeper/out.mp4"), ("proc", "/proc/out.mp4"), ("sys", "/sys/out.mp4"),
                        ("dev-full", "/dev/full"), ("existing-folder", "taken.mp4"), ("file-as-folder", "plain/out.mp4"),
                        ("name-too-long", "x" * 300 + ".mp4"), ("partial-name-too-long", "y" * 250 + ".mp4"),
                        ("path-too-long", "/".join(["d" * 200] * 21) + "/out.mp4")):
    @case("outputs", f"output-{_label}", fast=True)
    def _(tmp, label=_label, target=_target):
        (tmp / "taken.mp4").mkdir()
        (tmp / "plain").write_text("a file")
        output = Path(target) if target.startswith("/") else tmp / target
        keep = [] if label in ("dev-full", "existing-folder") else [output]
        return paths(tmp, clip(tmp), output, outputs=keep)

    @case("outputs", f"json-{_label}", fast=_label in ("proc", "dev-full", "existing-folder", "name-too-long"))
    def _(tmp, label=_label, target=_target):
        (tmp / "taken.mp4").mkdir()
        (tmp / "plain").write_text("a file")
        json = Path(target) if target.startswith("/") else tmp / target
        keep = [tmp / "out.mp4"] + ([] if label in ("dev-full", "existing-folder") else [json])
        return paths(tmp, clip(tmp), tmp / "out.mp4", json, outputs=keep)


@case("outputs", "bad-output-suffix", fast=True)
def _(tmp):
    return paths(tmp, clip(tmp), tmp / "out.txt", message="must end in")


@case("outputs", "existing-output-is-replaced", fast=True)
def _(tmp):
    (tmp / "out.mp4").write_bytes(b"an older render")
    setup = paths(tmp, clip(tmp), tmp / "out.mp4", tmp / "out.jsonl", expect=OK)
    setup.check = expect_video(tmp / "out.mp4", 6, (64, 48))
    return setup


@case("outputs", "dangling-symlink-output-is-replaced")
def _(tmp):
    os.symlink(tmp / "elsewhere.mp4", tmp / "out.mp4")
    setup = paths(tmp, clip(tmp), tmp / "out.mp4", expect=OK, outputs=[])

    def check():
        assert not os.path.islink(tmp / "out.mp4") and not (tmp / "elsewhere.mp4").exists()
    setup.check = check
    return setup


@case("outputs", "disk-fills-up-mid-render", fast=True)
def _(tmp):
    source = clip(tmp, "long.mkv", frames=60, size=(320, 240), codec="ffv1", fmt="matroska")
    setup = paths(tmp, source, tmp / "out.mp4", tmp / "out.jsonl", message="file too large")
    setup.argv[setup.argv.index("32")] = "0"  # full-size frames: noise-like pictures fill the file fast
    setup.limit_file_bytes = 60_000
    setup.on_failure = lambda line: _partial_kept_if_said(line, tmp / "out.partial.mp4")
    return setup


@case("outputs", "disk-fills-up-writing-an-image")
def _(tmp):
    source = media.image(tmp / "face.png", (900, 700))
    setup = paths(tmp, source, tmp / "styled.png", message="failed")
    setup.limit_file_bytes = 50_000
    return setup


# -- options -------------------------------------------------------------------------------------------------------
_BAD_OPTIONS = [
    ("--strength", "nan"), ("--strength", "inf"), ("--strength", "-1"), ("--strength", "2"), ("--strength", "x"),
    ("--smoothing", "nan"), ("--smoothing", "-inf"), ("--smoothing", "-1"), ("--dwell", "nan"), ("--dwell", "1e309"),
    ("--blend", "nan"), ("--blend", "-0.5"), ("--process-size", "-5"), ("--process-size", "10"), ("--process-size", "nan"),
    ("--process-size", "1e9"), ("--process-size", "99999999"), ("--min-confidence", "0"),
    ("--min-confidence", "nan"), ("--min-confidence", "1.5"), ("--device", "tpu"), ("--policy", "loudest"), ("--detector", "far"),
    ("--pack", "no-such-pack"), ("--emotion-model", "missing.onnx"), ("--frobnicate", "1"),
]
for _option, _value in _BAD_OPTIONS:
    @case("options", f"{_option[2:]}={_value}", fast=True)
    def _(tmp, option=_option, value=_value):
        source = clip(tmp)
        setup = paths(tmp, source, tmp / "out.mp4")
        setup.argv += [option, value]
        return setup


@case("options", "option-without-value", fast=True)
def _(tmp):
    setup = paths(tmp, clip(tmp), tmp / "out.mp4")
    setup.argv.append("--strength")
    return setup


@case("options", "unknown-command", fast=True)
def _(tmp):
    return Setup(["rendr", "x.mp4"], inputs=[], message="invalid choice")


@case("options", "models-without-action", fast=True)
def _(tmp):
    return Setup(["models"], inputs=[], message="required")


# -- signals: the same line and status at any moment, the partial kept -----------------------------------------------
for _sig in (signal.SIGINT, signal.SIGTERM):
    for _delay in (0.0, 1.0, 4.0):  # seconds after emocam's handlers are in: 0 is mid start-up (imports)
        @case("signals", f"{_sig.name}-after-{_delay}s", fast=(_sig, _delay) in ((signal.SIGTERM, 4.0), (signal.SIGINT, 0.0)))
        def _(tmp, sig=_sig, delay=_delay):
            source = clip(tmp, "long.mkv", frames=400, size=(320, 240), codec="ffv1", fmt="matroska")
            setup = paths(tmp, source, tmp / "out.mp4", tmp / "out.jsonl",
                          message="interrupted" if sig == signal.SIGINT else "terminated")
            setup.argv[setup.argv.index("32")] = "0"
            setup.stop, setup.code = (sig, delay), 128 + sig
            setup.on_failure = lambda line: _partial_kept_if_said(line, tmp / "out.partial.mp4")
            return setup


def _partial_kept_if_said(line: str, partial: Path) -> None:
    """A message that names the partial file means it is there and plays; otherwise nothing is left."""
    if "playable in" in line:
        import av

        frames = 0
        with av.open(str(partial)) as container:
            try:
                for _ in container.decode(video=0):
                    frames += 1
            except av.FFmpegError:
                pass  # cut mid-fragment (the disk filled up): what came before still plays
        assert frames, "the partial file holds no frames"
    else:
        assert not partial.exists(), line


# -- emocam models fetch: a destination that cannot be a folder is one line, before any download ----------------------
for _label, _dest in (("proc", "/proc/models"), ("dev-full", "/dev/full"), ("a-file", "plain")):
    @case("outputs", f"models-fetch-dest-{_label}", fast=True)
    def _(tmp, dest=_dest):
        (tmp / "plain").write_text("a file")
        target = Path(dest) if dest.startswith("/") else tmp / dest
        return Setup(["models", "fetch", "--dest", str(target)], inputs=[tmp / "plain"], message="cannot create")
