"""Write a small generated emotion dataset in the ExpW, FER2013 and folder formats.

No labeled face dataset can be downloaded everywhere, so tests and demo runs use cartoon faces whose
brows, eyes and mouth encode the class (with random colours, pose, size, line widths and noise):
learnable, but not trivially so at small sizes.

    python -m tools.emotion.make_dataset data/generated --per-class 60
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from tools.common.args import ToolParser, one_line_errors
from tools.emotion.data import EMOTIONS

# Imbalanced on purpose (like ExpW and FER2013: few disgust and fear faces) so balancing has work.
CLASS_SHARE = {"angry": 1.0, "disgust": 0.5, "fear": 0.6, "happy": 1.5, "sad": 1.0, "surprise": 0.8,
               "neutral": 1.3}
# Folder names exercise the synonym matching; "contempt" is outside the seven and is skipped.
FOLDER_NAMES = {"angry": "anger", "disgust": "Disgust", "fear": "fearful", "happy": "Happiness",
                "sad": "sad", "surprise": "surprised", "neutral": "Neutral"}
FER_USAGE = ("Training", "PublicTest", "PrivateTest")


def class_counts(per_class: int, balanced: bool) -> dict[str, int]:
    """Faces to draw per class."""
    return {e: per_class if balanced else max(2, int(round(per_class * CLASS_SHARE[e]))) for e in EMOTIONS}


def _pt(cx: float, cy: float, s: float, x: float, y: float) -> tuple[int, int]:
    """A face-relative point (x, y in -1..1 of the face radius) in pixels, 4 bits of sub-pixel."""
    return int(round((cx + x * s) * 16)), int(round((cy + y * s) * 16))


def _line(img: np.ndarray, pts: list[tuple[int, int]], color: tuple[int, ...], t: int) -> None:
    cv2.polylines(img, [np.array(pts, np.int32)], False, color, t, cv2.LINE_AA, shift=4)


def draw_face(emotion: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One RGB cartoon face of the given emotion filling a size x size crop."""
    bg = rng.integers(0, 256, 3)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = bg
    skin = tuple(int(v) for v in rng.integers(90, 256, 3))
    ink = tuple(int(v) for v in rng.integers(0, 70, 3))
    cx = size / 2 + rng.normal(0, size * 0.03)
    cy = size / 2 + rng.normal(0, size * 0.03)
    s = size * rng.uniform(0.36, 0.44)  # face radius
    t = max(1, int(round(size * rng.uniform(0.025, 0.045))))
    cv2.ellipse(img, _pt(cx, cy, s, 0, 0), (int(s * 16 * rng.uniform(0.8, 0.92)), int(s * 16)),
                0, 0, 360, skin, -1, cv2.LINE_AA, shift=4)
    # Eyes: wide for fear and surprise, narrow for angry and disgust.
    eye_h = {"fear": 0.16, "surprise": 0.17, "angry": 0.05, "disgust": 0.06}.get(emotion, 0.1)
    eye_h *= rng.uniform(0.85, 1.15)
    ey = -0.25 + rng.normal(0, 0.02)
    for side in (-1, 1):
        cv2.ellipse(img, _pt(cx, cy, s, side * 0.35, ey), (int(s * 16 * 0.12), int(s * 16 * eye_h)),
                    0, 0, 360, ink, -1, cv2.LINE_AA, shift=4)
    # Brows: (inner y, outer y) per side relative to the eye; negative is up.
    by = ey - 0.2
    brows = {
        "angry": ((0.12, -0.1), (0.12, -0.1)),
        "sad": ((-0.12, 0.06), (-0.12, 0.06)),
        "fear": ((-0.16, -0.04), (-0.16, -0.04)),
        "surprise": ((-0.18, -0.18), (-0.18, -0.18)),
        "disgust": ((0.1, 0.0), (-0.08, -0.08)),
        "happy": ((0.0, -0.03), (0.0, -0.03)),
        "neutral": ((0.0, 0.0), (0.0, 0.0)),
    }[emotion]
    for side, (inner, outer) in zip((-1, 1), brows):
        _line(img, [_pt(cx, cy, s, side * 0.15, by + inner), _pt(cx, cy, s, side * 0.55, by + outer)], ink, t)
    # Mouth.
    my, w = 0.45 + rng.normal(0, 0.03), rng.uniform(0.3, 0.4)
    xs = np.linspace(-w, w, 9)
    if emotion == "happy":
        _line(img, [_pt(cx, cy, s, x, my - 0.18 + 0.18 * (1 - (x / w) ** 2)) for x in xs], ink, t)
    elif emotion == "sad":
        _line(img, [_pt(cx, cy, s, x, my + 0.1 - 0.18 * (1 - (x / w) ** 2)) for x in xs], ink, t)
    elif emotion == "surprise":
        cv2.ellipse(img, _pt(cx, cy, s, 0, my), (int(s * 16 * 0.13), int(s * 16 * 0.2)), 0, 0, 360,
                    ink, -1, cv2.LINE_AA, shift=4)
    elif emotion == "fear":
        cv2.ellipse(img, _pt(cx, cy, s, 0, my), (int(s * 16 * w), int(s * 16 * 0.09)), 0, 0, 360,
                    ink, -1, cv2.LINE_AA, shift=4)
    elif emotion == "disgust":
        _line(img, [_pt(cx, cy, s, x, my + 0.07 * np.sin(x / w * 3 * np.pi) - 0.08 * x / w) for x in xs], ink, t)
        _line(img, [_pt(cx, cy, s, -0.12, 0.05), _pt(cx, cy, s, 0.0, 0.12), _pt(cx, cy, s, 0.12, 0.05)], ink, t)
    elif emotion == "angry":
        _line(img, [_pt(cx, cy, s, x, my + 0.05 * abs(x / w)) for x in xs], ink, t)
        _line(img, [_pt(cx, cy, s, x, my + 0.05 * abs(x / w) + 0.06) for x in xs[2:-2]], ink, max(1, t // 2))
    else:  # neutral
        _line(img, [_pt(cx, cy, s, -w, my), _pt(cx, cy, s, w, my)], ink, t)
    # Pose, lighting and sensor noise.
    rot = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-12, 12), rng.uniform(0.92, 1.08))
    img = cv2.warpAffine(img, rot, (size, size), borderMode=cv2.BORDER_REPLICATE)
    img = img.astype(np.float32) * rng.uniform(0.7, 1.2) + rng.normal(0, rng.uniform(2, 10), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Save an RGB image (PNG or JPEG by suffix)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise EmocamError(f"cannot write {path}")


def make_folder(out: Path, counts: dict[str, int], rng: np.random.Generator, size: int = 96) -> None:
    """<out>/<class synonym>/NNNN.png plus a few faces in a skipped contempt/ folder."""
    for e, n in counts.items():
        d = out / FOLDER_NAMES[e]
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            write_png(d / f"{i:04d}.png", draw_face(e, size, rng))
    d = out / "contempt"
    d.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        write_png(d / f"{i:04d}.png", draw_face("neutral", size, rng))


def make_fer2013(out: Path, counts: dict[str, int], rng: np.random.Generator) -> None:
    """<out>/fer2013.csv: emotion,pixels,Usage with 48x48 gray faces, about 80/10/10 by Usage."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for e, n in counts.items():
        for i in range(n):
            gray = cv2.cvtColor(draw_face(e, 48, rng), cv2.COLOR_RGB2GRAY)
            usage = FER_USAGE[0] if i % 10 < 8 else FER_USAGE[1 + i % 2]
            rows.append(f"{EMOTIONS.index(e)},{' '.join(map(str, gray.ravel()))},{usage}")
    order = rng.permutation(len(rows))
    text = "emotion,pixels,Usage\n" + "\n".join(rows[i] for i in order) + "\n"
    (out / "fer2013.csv").write_text(text, encoding="utf-8")


def make_expw(out: Path, counts: dict[str, int], rng: np.random.Generator) -> None:
    """<out>/label.lst and <out>/origin/*.jpg: pictures holding one or two faces at their boxes."""
    (out / "origin").mkdir(parents=True, exist_ok=True)
    faces = [e for e, n in counts.items() for _ in range(n)]
    faces = [faces[i] for i in rng.permutation(len(faces))]
    lines: list[str] = []
    k = 0
    while k < len(faces):
        group = faces[k:k + int(rng.integers(1, 3))]
        k += len(group)
        h, w = int(rng.integers(160, 240)), int(rng.integers(240, 360))
        pic = np.clip(rng.normal(rng.uniform(40, 220), 30, (h, w, 3)), 0, 255).astype(np.uint8)
        name = f"{group[0]}_generated_{len(lines):05d}.jpg"  # ExpW names start with a search word
        for j, e in enumerate(group):
            side = int(rng.integers(60, 110))
            left = int(rng.integers(j * w // 2, (j + 1) * w // 2 - side + 1))
            top = int(rng.integers(0, h - side + 1))
            pic[top:top + side, left:left + side] = draw_face(e, side, rng)
            conf = rng.uniform(20, 90)
            # name face_id top left right bottom confidence label (ExpW's column order)
            lines.append(f"{name} {j} {top} {left} {left + side} {top + side} {conf:.4f} {EMOTIONS.index(e)}")
        write_png(out / "origin" / name, pic)
    (out / "label.lst").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_all(out: Path, per_class: int = 60, formats: tuple[str, ...] = ("expw", "fer2013", "folder"),
             seed: int = 0, balanced: bool = False) -> dict[str, Path]:
    """Write the requested formats under out/; returns format -> dataset path."""
    counts = class_counts(per_class, balanced)
    paths: dict[str, Path] = {}
    for i, fmt in enumerate(formats):
        rng = np.random.default_rng(seed * 1000 + i)
        p = out / fmt
        if fmt == "expw":
            make_expw(p, counts, rng)
        elif fmt == "fer2013":
            make_fer2013(p, counts, rng)
        elif fmt == "folder":
            make_folder(p, counts, rng)
        else:
            raise EmocamError(f"unknown format {fmt!r}; use expw, fer2013 or folder")
        paths[fmt] = p
    return paths


@one_line_errors("tools.emotion.make_dataset")
def main(argv: list[str] | None = None) -> int:
    ap = ToolParser(prog="python -m tools.emotion.make_dataset", description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="output folder (gets expw/, fer2013/, folder/)")
    ap.add_argument("--per-class", type=int, default=60, help="faces per class before the imbalance shares")
    ap.add_argument("--formats", default="expw,fer2013,folder", help="comma-separated formats to write")
    ap.add_argument("--balanced", action="store_true", help="equal counts per class")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.per_class < 2:
        raise EmocamError("--per-class must be at least 2")
    paths = make_all(args.out, args.per_class, tuple(f.strip() for f in args.formats.split(",") if f.strip()),
                     args.seed, args.balanced)
    counts = class_counts(args.per_class, args.balanced)
    print("faces per class: " + ", ".join(f"{e} {n}" for e, n in counts.items()))
    for fmt, p in paths.items():
        print(f"{fmt}: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
