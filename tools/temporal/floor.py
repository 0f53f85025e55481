"""The flicker floor: what a perfectly stable stylization scores, per style and per stylization size.

A camera pan over a photo (tools.temporal.clips.pan_with_oracle) has a known ideal temporal result: the whole photo
stylized once and cut with the same moving windows, so every output pixel moves exactly with the picture. Stylizing
that photo at a smaller size first (and scaling it up, as `--process-size` does) gives outputs just as stable with
less fine texture. Their flicker (DIS and Farneback) against their sharpness (relative to per-frame stylization at
full size, as in tools.temporal.bench) is the best trade ANY temporal method can make under the measure: where even
these perfectly stable outputs score over 4x, stabilising harder cannot get under it; only less texture can.

    python -m tools.temporal.floor [--photos aloeL.jpg,graf1.png] [--styles 19,0,5] [--sizes full,512,320]
                                   [--json out.json] [--markdown out.md]
"""
from __future__ import annotations

import json
from typing import Sequence

from emocam.errors import EmocamError
from tools.temporal import clips as temporal_clips
from tools.common.args import ToolParser, one_line_errors
from tools.common.machine import machine_lines
from tools.temporal.bench import CachedNetwork
from tools.common.video_quality import FlickerReference, sharpness

GOAL = 4.0  # the flicker goal (times the input's own warping error), with both flows
FRAME_LONG_SIDE = temporal_clips.SIZE[0]  # a processing size is relative to the 640 px frame


def floor_rows(photo: str, styles: list[int], sizes: list[int | None]) -> list[dict]:
    """Flicker and sharpness of the perfectly stable pan over `photo`, per style, stylized once at each size
    (None = full)."""
    clip, _ = temporal_clips.pan_with_oracle(lambda canvas: canvas, photo=photo)
    reference = FlickerReference(clip)
    rows = []
    for style in styles:
        net = CachedNetwork(style)
        full_sharp = sharpness([net(f) for f in clip])
        for size in sizes:
            def stylize(canvas, size=size):
                longest = None if size is None else round(size * max(canvas.shape[:2]) / FRAME_LONG_SIDE)
                return net.stylizer.stylize(canvas, net.weights, longest, 1.0)

            _, oracle = temporal_clips.pan_with_oracle(stylize, photo=photo)
            ratios = reference.ratios(oracle)
            rows.append({"photo": photo, "style": style, "size": size or "full", "flicker_dis": ratios["dis"],
                         "flicker_farneback": ratios["farneback"], "sharpness": sharpness(oracle) / full_sharp})
            print(f"{photo} style {style:2d} oracle@{size or 'full'}: flicker dis {ratios['dis']:5.2f} "
                  f"farneback {ratios['farneback']:5.2f}  sharpness {rows[-1]['sharpness']:.3f}", flush=True)
    return rows


def style_grid(rows: list[dict], photo: str, path: str, per_row: int = 7, crop: int = 240, tile: int = 160) -> None:
    """An image grid (PNG or JPEG by the file's name): a crop of the pan's first frame, then each style measured
    on `photo`, labelled with its floor at full size (flicker DIS / Farneback of the perfectly stable output)."""
    import cv2
    import numpy as np

    from tools.temporal.figures import _label

    clip, _ = temporal_clips.pan_with_oracle(lambda canvas: canvas, photo=photo)
    y0, x0 = (clip[0].shape[0] - crop) // 2, (clip[0].shape[1] - crop) // 2

    def small(image):
        return cv2.resize(image[y0:y0 + crop, x0:x0 + crop], (tile, tile), interpolation=cv2.INTER_AREA)

    tiles = [_label(small(clip[0]), "input")]
    for r in (r for r in rows if r["photo"] == photo and r["size"] == "full"):
        net = CachedNetwork(r["style"])
        floor = f"{r['style']}: {r['flicker_dis']:.1f} / {r['flicker_farneback']:.1f}"
        tiles.append(_label(small(net(clip[0])), floor))
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % per_row)
    grid = np.concatenate([np.concatenate(tiles[i:i + per_row], 1) for i in range(0, len(tiles), per_row)], 0)
    cv2.imwrite(path, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


def within_goal(row: dict) -> bool:
    """Flicker within the goal by both flows."""
    return max(row["flicker_dis"], row["flicker_farneback"]) <= GOAL


def best_under_goal(rows: list[dict]) -> dict | None:
    """The sharpest row whose flicker is within the goal by both flows."""
    ok = [r for r in rows if within_goal(r)]
    return max(ok, key=lambda r: r["sharpness"]) if ok else None


def markdown(rows: list[dict]) -> str:
    lines = ["| photo | style | stylized at | flicker DIS | flicker Farneback | sharpness | both flows <= 4x |",
             "| --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        ok = "yes" if within_goal(r) else "no"
        lines.append(f"| {r['photo']} | {r['style']} | {r['size']} | {r['flicker_dis']:.2f} "
                     f"| {r['flicker_farneback']:.2f} | {r['sharpness']:.3f} | {ok} |")
    lines += ["", "| photo | style | sharpest perfectly stable output within 4x by both flows |",
              "| --- | ---: | --- |"]
    for photo, style in dict.fromkeys((r["photo"], r["style"]) for r in rows):
        best = best_under_goal([r for r in rows if (r["photo"], r["style"]) == (photo, style)])
        lines.append(f"| {photo} | {style} | " + (f"{best['sharpness']:.3f} (stylized at {best['size']})" if best
                                                  else "none of the sizes measured") + " |")
    return "\n".join(lines) + "\n"


def _items(spec: str, what: str) -> list[str]:
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        raise EmocamError(f"{what}: nothing given")
    return items


def parse_styles(spec: str) -> list[int]:
    """multistyle26 style numbers, 0-25."""
    styles = _items(spec, "--styles")
    bad = next((s for s in styles if not (s.isdigit() and int(s) < 26)), None)
    if bad is not None:
        raise EmocamError(f"--styles: {bad!r} is not a multistyle26 style (0-25)")
    return [int(s) for s in styles]


def parse_sizes(spec: str) -> list[int | None]:
    """Stylization sizes of 64 px or more, or `full` (None)."""
    sizes = _items(spec, "--sizes")
    bad = next((s for s in sizes if s != "full" and not (s.isdigit() and int(s) >= 64)), None)
    if bad is not None:
        raise EmocamError(f"--sizes: {bad!r} is not a size of 64 px or more, or full")
    return [None if s == "full" else int(s) for s in sizes]


def pan_photos(spec: str) -> list[str]:
    """The --photos list: each a known pan photo (tools.temporal.clips.PAN_PHOTOS), with opencv-doc installed."""
    photos = _items(spec, "--photos")
    unknown = [photo for photo in photos if photo not in temporal_clips.PAN_PHOTOS]
    if unknown:
        raise EmocamError(f"--photos: no pan photo {', '.join(unknown)} (use {', '.join(temporal_clips.PAN_PHOTOS)})")
    if not (temporal_clips.OPENCV_DATA / "aloeL.jpg").is_file():
        raise EmocamError("the pan photos come with opencv-doc: apt-get install opencv-doc")
    return photos


def report(rows: list[dict], table: str, json_path: str | None, markdown_path: str | None) -> None:
    """Print the machine and the table; write the rows (JSON) and the table (Markdown) where asked."""
    print("\n".join(machine_lines("default (multistyle26)")) + "\n" + table)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(rows, f, indent=1)
    if markdown_path:
        with open(markdown_path, "w") as f:
            f.write(table)


@one_line_errors("tools.temporal.floor")
def main(argv: Sequence[str] | None = None) -> int:
    p = ToolParser(prog="python -m tools.temporal.floor", description=__doc__.split("\n")[0])
    p.add_argument("--styles", default="19", help="multistyle26 styles, comma separated (default 19)")
    p.add_argument("--sizes", default="full,512,384,320,256", help="stylization sizes (long side of the frame)")
    photos_known = ", ".join(temporal_clips.PAN_PHOTOS)
    p.add_argument("--photos", default="aloeL.jpg", help=f"pan photos, comma separated: {photos_known}")
    p.add_argument("--json", help="write the rows here")
    p.add_argument("--markdown", help="write the tables here")
    p.add_argument("--figure", help="image (.png, .jpg): each style on the first photo's pan, labelled with its "
                                    "floor at full size")
    args = p.parse_args(argv)
    styles, sizes, photos = parse_styles(args.styles), parse_sizes(args.sizes), pan_photos(args.photos)
    rows = [row for photo in photos for row in floor_rows(photo, styles, sizes)]
    report(rows, markdown(rows), args.json, args.markdown)
    if args.figure:
        style_grid(rows, photos[0], args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
