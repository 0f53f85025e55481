"""A contact sheet for pictures packs: the same frame restyled by several pictures, each shown above its result.

The pictures go into a temporary pictures pack (`emocam pack new`'s code), one per emotion, and every tile is
rendered through `emocam.pipeline.style.Stylizer` with one-hot emotion weights, exactly as `render` would.
A `+` joins pictures into one blended style (`a.jpg+b.jpg`: equal weights).

    python -m tools.style.picture_sheet -o docs/picture_pack_sheet.png [--pictures P1 P2 ...] [--process-size 512]
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.packs.authoring import new_pack
from emocam.packs.pictures import read_picture
from emocam.pipeline.style import Stylizer
from emocam.packs.registry import load_pack
from tools.common.args import ToolParser, one_line_errors
from tools.style.sheet import default_photo, save_sheet

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian's opencv-doc
DEFAULT_PICTURES = ("opencv:starry_night.jpg", "skimage:chelsea", "skimage:coffee", "skimage:rocket",
                    "opencv:starry_night.jpg+skimage:coffee")
CREDITS = {"starry_night": "Van Gogh, The Starry Night (1889)", "chelsea": "Chelsea the cat",
           "coffee": "a cup of coffee", "rocket": "a rocket on its pad"}
TILE = 220
FONT = cv2.FONT_HERSHEY_SIMPLEX


def resolve(spec: str, scratch: Path) -> Path:
    """`opencv:NAME` (opencv-doc's samples), `skimage:NAME` (skimage.data, written out as PNG) or a file."""
    source, sep, name = spec.partition(":")
    if sep and source == "opencv":
        return OPENCV_DATA / name
    if sep and source == "skimage":
        import skimage.data

        path = scratch / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR))
        return path
    return Path(spec)


def tile(image: np.ndarray, size: int = TILE) -> np.ndarray:
    """Centre crop to a square, then scale to `size` (the sheet's tiles all match)."""
    h, w = image.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    return cv2.resize(image[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)


def caption(width: int, text: str) -> np.ndarray:
    strip = np.full((26, width, 3), 255, np.uint8)
    scale = 0.42
    while cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 8 and scale > 0.25:
        scale -= 0.02
    cv2.putText(strip, text, (4, 18), FONT, scale, (20, 20, 20), 1, cv2.LINE_AA)
    return strip


def make_sheet(specs: list[str], frame: np.ndarray, process_size: int) -> np.ndarray:
    if not 1 <= len(specs) <= len(EMOTIONS):
        raise EmocamError(f"give 1 to {len(EMOTIONS)} pictures (one style per emotion slot)")
    with tempfile.TemporaryDirectory(prefix="emocam-sheet-") as tmp:
        scratch = Path(tmp)
        styles = [[resolve(part, scratch) for part in spec.split("+")] for spec in specs]
        choices = {EMOTIONS[i]: [(p, 1.0 / len(parts)) for p in parts] for i, parts in enumerate(styles)}
        pack = load_pack(new_pack(scratch / "pack", "sheet", choices))
        stylizer = Stylizer(pack, "cpu")
        top = [np.full((TILE, TILE, 3), 255, np.uint8)]
        bottom = [tile(frame)]
        labels = ["", "the frame"]
        for i, parts in enumerate(styles):
            n = len(parts)  # a blend shows a vertical slice of each of its pictures
            top.append(np.hstack([tile(read_picture(p))[:, k * TILE // n:(k + 1) * TILE // n] for k, p in enumerate(parts)]))
            weights = np.eye(len(EMOTIONS), dtype=np.float32)[i]
            bottom.append(tile(stylizer.stylize(frame, weights, process_size, 1.0)))
            labels.append(" + ".join(CREDITS.get(p.stem, p.stem) for p in parts))
    gap = np.full((TILE + 26, 8, 3), 255, np.uint8)
    rows = []
    for row, texts in ((top, ["style picture:"] + labels[2:]), (bottom, labels[1:])):
        cells = [np.vstack([img, caption(TILE, text)]) for img, text in zip(row, texts)]
        rows.append(np.hstack([c for cell in cells for c in (cell, gap)][:-1]))
    return np.vstack([rows[0], np.full((8, rows[0].shape[1], 3), 255, np.uint8), rows[1]])


@one_line_errors("picture_sheet")
def main(argv: list[str] | None = None) -> int:
    parser = ToolParser(prog="python -m tools.style.picture_sheet", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, required=True, help="the sheet (PNG or JPEG)")
    parser.add_argument("--pictures", nargs="+", default=list(DEFAULT_PICTURES),
                        help="style pictures: files, opencv:NAME, skimage:NAME; a+b blends two")
    parser.add_argument("--process-size", type=int, default=512, help="longest side the transform sees")
    args = parser.parse_args(argv)
    frame, _ = default_photo()
    sheet = make_sheet(args.pictures, frame, args.process_size)
    save_sheet(sheet, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
