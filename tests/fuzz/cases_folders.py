"""Fuzz cases about names (spaces, newlines, unicode, a leading dash, non-UTF-8 bytes) and folders of images."""
from __future__ import annotations

import os
from pathlib import Path

import cv2

from fuzz import media
from fuzz.cases_media import expect_video
from fuzz.cases_paths import clip, paths
from fuzz.harness import EITHER, FAIL, OK, case_registry, Setup

CASES, case = case_registry()


# -- names with spaces, newlines, unicode, dashes -----------------------------------------------------------------
for _name in ("with space.mp4", "new\nline.mp4", "ünïcødé 表情.mp4", "emoji 😀.mkv", "-dash.mp4", "tab\tname.mp4",
              "quote's \"x\".mp4", "semi;colon&amp.mp4", "#hash%20.mp4", "dots...mp4"):
    @case("names", f"input-{_name.encode('unicode_escape').decode()[:20]}", fast=_name in ("new\nline.mp4", "ünïcødé 表情.mp4"))
    def _(tmp, name=_name):
        source = clip(tmp, name)
        output = tmp / f"out {name}"
        output = output.with_suffix(".mp4")
        setup = paths(tmp, source, output, tmp / f"{name}.jsonl", expect=OK)
        setup.argv[1] = "./" + name if name.startswith("-") else str(source)  # a leading dash needs ./
        setup.check = expect_video(output, 6, (64, 48))
        return setup


@case("names", "non-utf8-bytes-in-name")
def _(tmp):
    name = os.fsdecode(b"bad\xff\xfename.mp4")
    source = clip(tmp, name)
    setup = paths(tmp, source, tmp / "out.mp4", expect=OK)
    setup.check = expect_video(tmp / "out.mp4", 6, (64, 48))
    return setup


@case("names", "image-folder-with-unicode-names", fast=True)
def _(tmp):
    folder = tmp / "фото"
    folder.mkdir()
    media.image(folder / "лицо 1.png")
    media.image(folder / "顔\n2.jpg")
    setup = paths(tmp, folder, tmp / "out dir", expect=OK, inputs=[folder])
    setup.check = lambda: _expect_names(tmp / "out dir", {"лицо 1.png", "顔\n2.png"})
    return setup


def _expect_names(folder: Path, names: set[str]) -> None:
    found = {p.name for p in folder.iterdir()}
    assert found == names, found
    for name in names:
        assert cv2.imread(str(folder / name)) is not None


# -- folders of images -----------------------------------------------------------------------------------------
def folder_case(tmp: Path, files: dict[str, object], *, expect=FAIL, message="", names: set[str] | None = None) -> Setup:
    folder = tmp / "photos"
    folder.mkdir()
    for name, content in files.items():
        target = folder / name
        if content == "image":
            media.image(target)
        elif content == "fifo":
            os.mkfifo(target)
        elif content == "folder":
            target.mkdir()
        else:
            target.write_bytes(content)
    output = tmp / "styled"
    setup = paths(tmp, folder, output, tmp / "records.jsonl", expect=expect, message=message, inputs=[folder])
    if names is not None:
        setup.check = lambda: _expect_names(output, names)
    return setup


@case("folders", "jpg-and-png-with-one-stem", fast=True)
def _(tmp):
    return folder_case(tmp, {"a.jpg": "image", "a.png": "image", "b.png": "image"}, expect=OK,
                       names={"a.jpg.png", "a.png.png", "b.png"})


@case("folders", "junk-after-a-good-image", fast=True)
def _(tmp):
    return folder_case(tmp, {"a.png": "image", "b.jpg": b"not a picture"}, message="b.jpg")


@case("folders", "junk-before-a-good-image")
def _(tmp):
    return folder_case(tmp, {"a.png": b"", "b.jpg": "image"}, message="a.png")


@case("folders", "fifo-inside", fast=True)
def _(tmp):
    return folder_case(tmp, {"a.png": "image", "b.png": "fifo"}, message="FIFO")


@case("folders", "folder-named-like-an-image")
def _(tmp):
    return folder_case(tmp, {"a.png": "image", "b.png": "folder"}, message="folder")


@case("folders", "huge-header-inside")
def _(tmp):
    media.png_header(tmp / "huge.png", 100000, 100000)
    return folder_case(tmp, {"a.png": "image", "z.png": (tmp / "huge.png").read_bytes()}, message="limit")


@case("folders", "hidden-and-other-files-ignored", fast=True)
def _(tmp):
    return folder_case(tmp, {"._a.jpg": b"AppleDouble junk", "a.jpg": "image", "notes.txt": b"hello", ".DS_Store": b"\0"},
                       expect=OK, names={"a.png"})


@case("folders", "empty-folder", fast=True)
def _(tmp):
    return folder_case(tmp, {}, message="holds no images")


@case("folders", "only-non-images", fast=True)
def _(tmp):
    return folder_case(tmp, {"notes.txt": b"x", "data.csv": b"1,2"}, message="holds no images")


@case("folders", "truncated-image-mid-folder")
def _(tmp):
    whole = media.image(tmp / "whole.png", (128, 128))
    cut = whole.read_bytes()[:600]
    return folder_case(tmp, {"a.png": "image", "b.png": cut, "c.png": "image"}, expect=EITHER)
