"""Figures for the temporal bench: a strip of frames per mode (with the warping-error map of one frame pair) and a
plot of the per-pair warping error over time (DIS flow), written as PNG."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tools.common.video_quality import pair_flows

STRIP_ROWS = ("off@full", "off@256", "stable@256", "keyframe@full")
PLOT_LINES = ("off@full", "off@256", "guided@256", "stable@256", "keyframe@full", "stable@384")
TILE = 200  # tile width in the strip


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (8 * len(text) + 8, 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _tile(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (TILE, round(h * TILE / w)), interpolation=cv2.INTER_AREA)


def shown(available: list[str], preferred: tuple[str, ...], most: int) -> list[str]:
    """The configurations a figure shows, in the run's order: the preferred ones the run has, then the run's
    others, `most` in all (a run of a few configurations shows them all)."""
    picked = [k for k in preferred if k in available]
    picked += [k for k in available if k not in picked][:max(0, most - len(picked))]
    return [k for k in available if k in picked]


def busiest_pair(errors: list[float]) -> int:
    """The frame t of the pair (t, t+1) where per-frame styling flickers most (no cut)."""
    return int(np.argmax(errors))


def strip(clip: list[np.ndarray], outputs: dict[str, list[np.ndarray]], t: int) -> np.ndarray:
    """Rows: input then each mode; columns: frames t, t+1 and |out_t - warp(out_t+1)| (x4, DIS flow)."""
    flow = pair_flows(clip[t:t + 2], "dis")[0]
    rows = []
    for name, frames in [("input", clip)] + [(k, outputs[k]) for k in shown(list(outputs), STRIP_ROWS, 4)]:
        warped = cv2.remap(frames[t + 1], flow.maps[..., 0], flow.maps[..., 1], cv2.INTER_LINEAR)
        err = np.abs(frames[t].astype(np.int16) - warped.astype(np.int16)).mean(-1) * 4
        err = np.where(flow.valid, np.clip(err, 0, 255), 0).astype(np.uint8)
        err_rgb = cv2.cvtColor(cv2.applyColorMap(err, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
        tiles = [_tile(frames[t + k]) for k in range(2)] + [_tile(err_rgb)]
        tiles[0] = _label(tiles[0], f"{name}  frame {t}")
        tiles[2] = _label(tiles[2], "warping error x4")
        rows.append(np.concatenate(tiles, 1))
    return np.concatenate(rows, 0)


def plot(name: str, result: dict, path: Path) -> None:
    """Per-pair warping error (DIS) of the input and of each mode over the clip; cuts marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    ax.plot(result["input_errors_dis"], color="black", lw=1.5, label="input")
    for key in shown(list(result["rows"]), PLOT_LINES, 6):
        ax.plot(result["rows"][key]["errors_dis"], lw=1, label=key)
    for cut in result["cut_pairs"]["dis"]:
        ax.axvline(cut, color="grey", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("frame pair (t, t+1)")
    ax.set_ylabel("warping error (0..1)")
    ax.set_title(f"{name}: warping error per frame pair, DIS flow (dotted: scene cut)")
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_figures(folder: str, name: str, clip: list[np.ndarray], result: dict) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    plot(name, result, out / f"{name}_warping_error.png")
    errors = result["rows"].get("off@full", next(iter(result["rows"].values())))["errors_dis"]
    cuts = set(result["cut_pairs"]["dis"])
    usable = [e if i not in cuts and i + 1 < len(clip) and i + 1 not in cuts else 0 for i, e in enumerate(errors)]
    from PIL import Image

    image = Image.fromarray(strip(clip, result["outputs"], busiest_pair(usable)))
    image.quantize(256, dither=Image.Dither.NONE).save(out / f"{name}_strip.png", optimize=True)  # small to commit
