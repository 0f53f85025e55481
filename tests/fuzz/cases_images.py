"""Fuzz cases about pictures: valid formats, lying headers, tiny, huge, truncated and special files; `emocam still`."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from fuzz import media
from fuzz.cases_media import render
from fuzz.harness import EITHER, OK, case_registry, Setup

CASES, case = case_registry()


# -- images ----------------------------------------------------------------------------------------------
def still(tmp: Path, path: Path, *, expect=OK, message="", size=None) -> Setup:
    out = tmp / "styled.png"
    setup = render(tmp, path, "styled.png", expect=expect, message=message)

    def check() -> None:
        image = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        assert image is not None and image.dtype == np.uint8 and image.ndim == 3
        if size:
            assert image.shape[1::-1] == size
    setup.check = check
    return setup


for _suffix in (".png", ".jpg", ".bmp", ".webp", ".tif"):
    @case("images", f"valid{_suffix}", fast=_suffix in (".png", ".webp"))
    def _(tmp, suffix=_suffix):
        return still(tmp, media.image(tmp / f"face{suffix}", (96, 80)), size=(96, 80))


for _label, _kwargs in (("gray", {"convert": cv2.COLOR_BGR2GRAY}), ("rgba", {"convert": cv2.COLOR_BGR2BGRA}),
                        ("16bit", {"dtype": np.uint16}), ("odd-size", {})):
    @case("images", f"png-{_label}", fast=_label == "16bit")
    def _(tmp, kwargs=_kwargs, label=_label):
        size = (65, 49) if label == "odd-size" else (64, 64)
        return still(tmp, media.image(tmp / "face.png", size, **kwargs), size=size)


for _suffix in (".png", ".jpg", ".jpeg", ".webp", ".tiff", ".bmp"):
    @case("images", f"zero-bytes{_suffix}", fast=True)
    def _(tmp, suffix=_suffix):
        (tmp / f"empty{suffix}").write_bytes(b"")
        return render(tmp, tmp / f"empty{suffix}", f"out{suffix}", message="empty")


for _label, _make in (("png", media.png_header), ("jpeg", media.jpeg_header), ("bmp", media.bmp_header)):
    for _w, _h in ((100000, 100000), (65000, 65000), (20000, 100)):
        @case("images", f"{_label}-header-claims-{_w}x{_h}", fast=_w == 100000)
        def _(tmp, make=_make, w=min(_w, 65535 if _label == "jpeg" else _w), h=_h if _label != "jpeg" else min(_h, 65535), label=_label):
            suffix = {"png": ".png", "jpeg": ".jpg", "bmp": ".bmp"}[label]
            return render(tmp, make(tmp / f"huge{suffix}", w, h), f"out{suffix}", message="limit")


for _w, _h in ((1, 1), (15, 200), (200, 8)):
    @case("images", f"too-small-{_w}x{_h}", fast=(_w, _h) == (1, 1))
    def _(tmp, w=_w, h=_h):
        return render(tmp, media.image(tmp / "dot.png", (w, h)), "out.png", message="at least 16")


@case("images", "wide-4000x16", fast=True)
def _(tmp):
    return still(tmp, media.image(tmp / "strip.png", (4000, 16)), size=(4000, 16))


for _suffix, _fraction in ((".png", 0.5), (".png", 0.9), (".jpg", 0.5), (".webp", 0.5)):
    @case("images", f"truncated{_suffix}-{int(_fraction * 100)}pc", fast=_suffix == ".png" and _fraction == 0.5)
    def _(tmp, suffix=_suffix, fraction=_fraction):
        image = media.image(tmp / f"full{suffix}", (128, 128))
        return still(tmp, media.truncate(image, tmp / f"cut{suffix}", fraction), expect=EITHER)


@case("images", "text-named-jpg", fast=True)
def _(tmp):
    (tmp / "notes.jpg").write_text("not a picture\n")
    return render(tmp, tmp / "notes.jpg", "out.png", message="not a PNG")


@case("images", "fifo-named-png", fast=True)
def _(tmp):
    os.mkfifo(tmp / "pipe.png")
    return render(tmp, tmp / "pipe.png", "out.png", message="FIFO", inputs=[])


@case("images", "random-bytes-named-png", fast=True)
def _(tmp):
    return render(tmp, media.random_bytes(tmp / "noise.png", 5000), "out.png")


@case("images", "png-with-damaged-data", fast=True)
def _(tmp):
    image = media.image(tmp / "face.png", (64, 64))
    return still(tmp, media.corrupt(image, tmp / "bad.png", at=0.6, count=200), expect=EITHER)


@case("images", "libpng-warning-stays-off-the-terminal", fast=True)
def _(tmp):
    import struct

    ok, data = cv2.imencode(".png", cv2.cvtColor(media.picture(64, 64), cv2.COLOR_RGB2BGR))
    data = data.tobytes()
    body = b"Comment\0hello"
    bad_text = struct.pack(">I", len(body)) + b"tEXt" + body + b"\0\0\0\0"  # wrong CRC: libpng warns
    (tmp / "warn.png").write_bytes(data[:33] + bad_text + data[33:])
    setup = still(tmp, tmp / "warn.png", size=(64, 64))
    setup.subprocess = True  # the real program, whose stderr must stay empty
    return setup


@case("images", "large-6000x4000-renders")
def _(tmp):
    return still(tmp, media.image(tmp / "big.png", (6000, 4000)), size=(6000, 4000))


# -- emocam still reads pictures through the same checks ---------------------------------------------------------
for _label in ("fifo-content", "text-style", "huge-header-content", "missing-style"):
    @case("images", f"still-{_label}", fast=_label == "fifo-content")
    def _(tmp, label=_label):
        content, style = tmp / "content.png", tmp / "style.png"
        media.image(content)
        media.image(style)
        if label == "fifo-content":
            content.unlink()
            os.mkfifo(content)
        elif label == "text-style":
            style.write_text("not a picture")
        elif label == "huge-header-content":
            media.png_header(content, 100000, 100000)
        else:
            style.unlink()
        out = tmp / "still.png"
        return Setup(["still", str(content), "--style-image", str(style), "-o", str(out), "--steps", "1"],
                     inputs=[p for p in (content, style) if p.is_file()], outputs=[out])
