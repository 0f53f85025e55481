"""A contact sheet of a style pack: the original face photo and the pack's style for each of the 7 emotions.

Every tile is rendered through `emocam.pipeline.style.Stylizer` with one-hot emotion weights (no blending) and
labelled with the emotion, the style index (multistyle packs) or model file (per_emotion packs) and
the pack's `notes`. With `--teacher PACK` the sheet has two rows, the teacher's above this pack's,
to compare a distilled pack with the pack it learned from.

    python -m tools.style.sheet [--pack default] [--image PATH] [--teacher PACK] -o docs/default_pack_sheet.jpg
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.io.sources import read_image
from emocam.packs.base import StylePack
from emocam.pipeline.style import Stylizer, processing_shape
from emocam.packs.registry import load_pack
from tools.common.args import ToolParser, one_line_errors

# skimage.data.astronaut() (NASA portrait of Eileen Collins, public domain): face and shoulders
ASTRONAUT_CROP = (84, 0, 372, 336)  # x0, y0, x1, y1
FONT = cv2.FONT_HERSHEY_SIMPLEX
GAP = 12
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MUTED = (90, 90, 90)


@dataclass
class Cell:
    """One tile of the sheet and the label lines under it: (text, scale, thickness, colour)."""

    image: np.ndarray
    lines: list[tuple[str, float, int, tuple[int, int, int]]]


def default_photo() -> tuple[np.ndarray, str]:
    """The astronaut portrait cropped to face and shoulders."""
    import skimage.data

    x0, y0, x1, y1 = ASTRONAUT_CROP
    return np.ascontiguousarray(skimage.data.astronaut()[y0:y1, x0:x1]), "astronaut (NASA, public domain)"


def wrap(text: str, scale: float, thickness: int, width: int) -> list[str]:
    """Greedy word wrap of `text` so every line fits `width` pixels in FONT at `scale`."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(candidate, FONT, scale, thickness)[0][0] <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def style_label(pack: StylePack, emotion: str) -> str:
    """`style 20`, `styles 3 (50%) + 5 (50%)`, or the per_emotion model's file name."""
    if pack.kind == "pictures":  # the picture (or blend) behind the emotion, or where an unlisted one follows
        spec = pack.raw["pictures"].get(emotion)
        if spec is None:
            return f"as {'neutral' if 'neutral' in pack.raw['pictures'] else 'the mean'}"
        return Path(spec).name if isinstance(spec, str) else " + ".join(f"{Path(p).name} ({w:.0%})" for p, w in spec.items())
    if pack.kind != "multistyle":
        return pack.models[emotion].name
    spec = pack.raw["styles"][emotion]
    if not isinstance(spec, dict):
        return f"style {int(spec)}"
    total = sum(float(w) for w in spec.values())
    return "styles " + " + ".join(f"{int(i)} ({float(w) / total:.0%})" for i, w in spec.items())


def note_text(pack: StylePack, emotion: str) -> str:
    """The pack's note for `emotion`, without a leading `20:` that repeats the style index."""
    note = str(pack.raw.get("notes", {}).get(emotion, ""))
    head, sep, rest = note.partition(":")
    return rest.strip() if sep and head.strip().isdigit() else note.strip()


def fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` resized to width x height (area filter when shrinking)."""
    shrink = image.shape[1] > width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def pack_cells(pack: StylePack, photo: np.ndarray, device: str, tile: tuple[int, int], note_scale: float) -> list[Cell]:
    """The seven stylized tiles of `pack` (one-hot emotion weights): stylized at the photo's size, then fitted to `tile`."""
    stylizer = Stylizer(pack, device)
    cells = []
    for i, emotion in enumerate(EMOTIONS):
        weights = np.eye(len(EMOTIONS), dtype=np.float32)[i]
        image = fit(stylizer.stylize(photo, weights, None, 1.0), *tile)
        lines = [(emotion, note_scale * 1.5, 2, INK), (style_label(pack, emotion), note_scale * 1.1, 1, INK)]
        lines += [(line, note_scale, 1, MUTED) for line in wrap(note_text(pack, emotion), note_scale, 1, tile[0])]
        cells.append(Cell(image, lines))
    return cells


def draw_lines(canvas: np.ndarray, x: int, y: int, lines: list[tuple[str, float, int, tuple[int, int, int]]]) -> int:
    """Draw label lines from baseline-top `y`; returns the y below the last line."""
    for text, scale, thickness, colour in lines:
        (_, h), base = cv2.getTextSize("Ag", FONT, scale, thickness)  # one line height for any text
        y += h + 4
        cv2.putText(canvas, text, (x, y), FONT, scale, colour, thickness, cv2.LINE_AA)
        y += base + 2
    return y


def lines_height(lines: list[tuple[str, float, int, tuple[int, int, int]]]) -> int:
    return draw_lines(np.zeros((1, 1, 3), np.uint8), 0, 0, lines)


def compose(title: list[tuple[str, float, int, tuple[int, int, int]]], rows: list[tuple[str, list[Cell]]],
            columns: int, tile_w: int) -> np.ndarray:
    """Lay `rows` of cells out `columns` wide under a title; each row may have a heading."""
    tile_h = max(c.image.shape[0] for _, cells in rows for c in cells)
    label_h = max(lines_height(c.lines) for _, cells in rows for c in cells)
    width = columns * tile_w + (columns + 1) * GAP
    title_h = lines_height(title) + GAP
    blocks = []
    for heading, cells in rows:
        grid_rows = -(-len(cells) // columns)
        heading_h = lines_height([(heading, 0.7, 2, INK)]) + 4 if heading else 0
        blocks.append((heading, heading_h, cells, grid_rows))
    height = GAP + title_h + sum(h + n * (tile_h + label_h + GAP) for _, h, _, n in blocks) + GAP
    canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
    y = draw_lines(canvas, GAP, GAP, title) + GAP
    for heading, heading_h, cells, _ in blocks:
        if heading:
            draw_lines(canvas, GAP, y, [(heading, 0.7, 2, INK)])
            y += heading_h
        for n, cell in enumerate(cells):
            col, row = n % columns, n // columns
            x = GAP + col * (tile_w + GAP)
            top = y + row * (tile_h + label_h + GAP)
            h, w = cell.image.shape[:2]
            canvas[top:top + h, x:x + w] = cell.image
            draw_lines(canvas, x, top + h, cell.lines)
        y += -(-len(cells) // columns) * (tile_h + label_h + GAP)
    return canvas


def make_sheet(pack_name: str, photo: np.ndarray, photo_name: str, device: str = "auto",
               teacher_name: str | None = None, max_width: int = 1400, process_size: int = 384) -> np.ndarray:
    """The contact sheet as an RGB image at most `max_width` pixels wide.

    The networks see the photo with its longest side at most `process_size` (the same for either
    layout, so strokes keep their scale); the results are then fitted to the tiles.
    """
    pack = load_pack(pack_name)
    packs = [load_pack(teacher_name), pack] if teacher_name else [pack]
    h, w = photo.shape[:2]
    pw, ph = processing_shape(w, h, process_size)
    photo = fit(photo, pw, ph) if (pw, ph) != (w, h) else photo
    columns = 8 if teacher_name else 4
    tile_w = (max_width - (columns + 1) * GAP) // columns
    tile = (tile_w, max(4, int(round(ph * tile_w / pw))))
    note_scale = 0.38 if teacher_name else 0.5
    original = Cell(fit(photo, *tile), [("original", note_scale * 1.5, 2, INK),
                                        *[(line, note_scale, 1, MUTED) for line in wrap(photo_name, note_scale, 1, tile_w)]])
    rows = []
    for role, p in zip(("teacher", "pack") if teacher_name else ("",), packs):
        heading = f"{role}: {p.name} ({p.kind})" if role else ""
        rows.append((heading, [original] + pack_cells(p, photo, device, tile, note_scale)))
    kinds = f"{pack.kind}, " + (pack.models["*"].name if pack.kind == "multistyle" else f"{len(set(pack.models.values()))} networks")
    title_text = f"style pack '{pack.name}' ({kinds})" + (f" vs teacher '{packs[0].name}'" if teacher_name else "")
    title = [(title_text, 0.8, 2, INK)]
    if pack.description:
        title += [(line, 0.5, 1, MUTED) for line in wrap(pack.description, 0.5, 1, max_width - 2 * GAP)]
    title += [("one-hot emotion weights, full strength, rendered with emocam.pipeline.style.Stylizer", 0.45, 1, MUTED)]
    return compose(title, rows, columns, tile_w)


def build_parser() -> argparse.ArgumentParser:
    parser = ToolParser(prog="python -m tools.style.sheet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", default="default", help="style pack name or folder (default: default)")
    parser.add_argument("--image", type=Path, help="face photo (default: skimage's astronaut, face and shoulders)")
    parser.add_argument("--teacher", help="a second pack shown in a row above, e.g. the teacher of a distilled pack")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the style networks run")
    parser.add_argument("--width", type=int, default=1400, help="sheet width in pixels (default 1400)")
    parser.add_argument("--process-size", type=int, default=384, help="longest side the style networks see (default 384)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    return parser


@one_line_errors("pack_sheet")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not 400 <= args.width <= 4000:
        raise EmocamError(f"--width must be between 400 and 4000, got {args.width}")
    if not 32 <= args.process_size <= 2048:
        raise EmocamError(f"--process-size must be between 32 and 2048, got {args.process_size}")
    if args.output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise EmocamError(f"-o {args.output}: write a .png or .jpg")
    if args.image and not args.image.is_file():
        raise EmocamError(f"--image {args.image}: file not found")
    photo, name = (read_image(args.image), args.image.name) if args.image else default_photo()
    sheet = make_sheet(args.pack, photo, name, args.device, args.teacher, args.width, args.process_size)
    save_sheet(sheet, args.output)
    return 0


def save_sheet(sheet: np.ndarray, path: Path) -> None:
    """Write an RGB contact sheet as PNG or JPEG and say where."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmocamError(f"cannot write {path}: {exc.strerror}") from None
    if not cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise EmocamError(f"cannot write {path}")
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    sys.exit(main())
