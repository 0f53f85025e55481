"""Benchmark the temporal engine: flicker (DIS and Farneback), sharpness, ghosting and speed per mode.

Every configuration `MODE@SIZE` (SIZE = processing long side or `full`) runs on the same clips (tools.temporal.clips)
with the real multistyle26 network at one style. The network output for a small frame is computed once per size and
reused by every mode (same pixels in, same pixels out), its time measured on that first call; a mode's ms/frame is
its own stage time plus the network's median time for the frames where it ran the network. All rows are measured
in one run, so compare them as ratios: the machine may be shared. `naive` is the stable blend with its confidence
mask switched off (every pixel trusts the warped history): the reference that shows what ghosting looks like.

    python -m tools.temporal.bench [--clips sample,megamind,faces_fast] [--frames N] [--configs off@full,stable@256]
                                   [--style 19] [--pans 3x1,0.37x0.13] [--json out.json] [--figures docs/temporal]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.pipeline.style import Stylizer, processing_shape
from emocam.packs.registry import load_pack
from emocam.packs.multistyle import style_vector
from emocam.pipeline.temporal import MODES, TemporalParams, TemporalStyler
from tools.temporal import clips as temporal_clips
from tools.common.video_quality import FlickerReference, sharpness
from tools.common.args import one_line_errors

DEFAULT_CONFIGS = ("off@full,stable@full,keyframe@full,off@384,guided@384,stable@384,keyframe@384,"
                   "off@256,guided@256,stable@256,keyframe@256,naive@256")
GHOST_LEVEL = 60  # an output pixel this far (0..255, any channel) from the per-frame output counts as a trail
SHARP_EVERY = 5  # sharpness on every 5th frame (the full-size reference is expensive)


@dataclass(frozen=True)
class Config:
    mode: str  # a temporal mode, or "naive"
    size: int | None  # processing long side; None = the clip's own size

    @property
    def label(self) -> str:
        return f"{self.mode}@{self.size or 'full'}"

    def engine(self) -> TemporalStyler:
        if self.mode == "naive":
            return TemporalStyler("stable", TemporalParams(sigma=1e9, cut_fraction=0.0, margin=0))
        return TemporalStyler(self.mode)


def parse_configs(spec: str) -> list[Config]:
    out = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        mode, _, size = item.partition("@")
        if mode not in MODES + ("naive",) or not (size == "full" or size.isdigit()):
            raise EmocamError(f"--configs: {item!r} is not MODE@SIZE "
                              f"(modes {', '.join(MODES)}, naive; SIZE px or full)")
        out.append(Config(mode, None if size == "full" else int(size)))
    return out


class CachedNetwork:
    """The style network on small frames; each distinct small frame is stylized once and its time recorded."""

    def __init__(self, style: int) -> None:
        pack = load_pack("default")
        for emotion in EMOTIONS:
            pack.styles[emotion] = style_vector(style, emotion, pack.folder)
        self.stylizer = Stylizer(pack, "cpu")
        self.weights = np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index("neutral")]
        self.cache: dict[tuple, np.ndarray] = {}
        self.ms: dict[tuple[int, int], list[float]] = {}
        self.spent = 0.0  # seconds spent inside the network (not in cache lookups)

    def __call__(self, small: np.ndarray) -> np.ndarray:
        key = (small.shape, hash(small.tobytes()))
        if key not in self.cache:
            started = time.perf_counter()
            self.cache[key] = self.stylizer.stylize(small, self.weights, None, 1.0)
            spent = time.perf_counter() - started
            self.spent += spent
            self.ms.setdefault(small.shape[:2], []).append(spent * 1000)
        return self.cache[key]

    def median_ms(self, shape: tuple[int, int]) -> float:
        return float(np.median(self.ms[shape]))


def run_config(config: Config, clip: list[np.ndarray], net: CachedNetwork) -> tuple[list[np.ndarray], dict]:
    """Outputs of one configuration on a clip, and its per-frame info and timing."""
    engine, outputs, keyframes, resets = config.engine(), [], [], []
    started, spent = time.perf_counter(), net.spent
    for frame in clip:
        out, info = engine.process(frame, net, config.size)
        outputs.append(out)
        keyframes.append(info["keyframe"])
        resets.append(info["reset"])
    stage_ms = ((time.perf_counter() - started) - (net.spent - spent)) * 1000 / len(clip)
    w, h = processing_shape(clip[0].shape[1], clip[0].shape[0], config.size)
    net_ms = net.median_ms((h, w)) * float(np.mean(keyframes))
    return outputs, {"keyframes": keyframes, "resets": resets, "stage_ms": stage_ms, "ms": stage_ms + net_ms}


def ghosting(outputs: list[np.ndarray], per_frame: list[np.ndarray]) -> float:
    """Mean fraction of pixels far (GHOST_LEVEL) from the per-frame output at the same size: trails show here."""
    far = [(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(-1) > GHOST_LEVEL).mean()
           for a, b in zip(outputs, per_frame)]
    return float(np.mean(far))


def bench_clip(name: str, clip: list[np.ndarray], configs: list[Config], net: CachedNetwork) -> dict:
    """Every configuration on one clip: flicker per flow method, sharpness vs per-frame full size, ghosting, ms."""
    reference = FlickerReference(clip)
    picks = list(range(0, len(clip), SHARP_EVERY))
    full = [net(clip[i]) for i in picks]
    full_sharp = sharpness(full)
    rows, outputs_by = {}, {}
    for config in configs:
        outputs, info = run_config(config, clip, net)
        outputs_by[config.label] = outputs
        flicker = reference.ratios(outputs)
        rows[config.label] = {
            "flicker_dis": flicker["dis"], "flicker_farneback": flicker["farneback"],
            "sharpness": sharpness([outputs[i] for i in picks]) / full_sharp,
            "ms": info["ms"], "stage_ms": info["stage_ms"],
            "keyframes": int(np.sum(info["keyframes"])), "resets": [i for i, r in enumerate(info["resets"]) if r],
            "errors_dis": reference.errors(outputs, "dis").tolist(),
        }
        print(f"{name:11s} {config.label:15s} flicker dis {flicker['dis']:6.2f} farneback {flicker['farneback']:6.2f}"
              f"  sharpness {rows[config.label]['sharpness']:5.3f}  {info['ms']:7.1f} ms/frame", flush=True)
    for config in configs:  # ghosting against the per-frame output at the same processing size
        same_size = (outputs_by.get(Config(mode, config.size).label) for mode in ("off", "guided"))
        per_frame = next((o for o in same_size if o is not None), None)
        if per_frame is not None and config.mode in ("stable", "keyframe", "texture", "naive"):
            rows[config.label]["ghost"] = ghosting(outputs_by[config.label], per_frame)
    return {"frames": len(clip), "input_error": reference.input_error,
            "input_errors_dis": reference.input_errors["dis"].tolist(),
            "cut_pairs": {m: np.flatnonzero(~k).tolist() for m, k in reference.keep.items()},
            "full_sharpness": full_sharp, "rows": rows, "outputs": outputs_by}


def oracle_floor(net: CachedNetwork) -> dict:
    """The flicker of a perfectly stable stylization (tools.temporal.clips.pan_with_oracle) and of per-frame full-size
    stylization on the same pan: what the measure itself allows for this style's texture."""
    clip, oracle = temporal_clips.pan_with_oracle(net)
    reference = FlickerReference(clip)
    per_frame = [net(f) for f in clip]
    out = {"oracle": reference.ratios(oracle), "off@full": reference.ratios(per_frame)}
    for name, ratios in out.items():
        print(f"{'pan (oracle)':11s} {name:15s} flicker dis {ratios['dis']:6.2f} farneback {ratios['farneback']:6.2f}",
              flush=True)
    return out


def pan_rows(net: CachedNetwork, configs: list[Config], step: tuple[float, float], count: int = 30) -> dict:
    """Each configuration on a camera pan whose perfectly stable result is known (tools.temporal.clips
    .pan_with_oracle over aloeL.jpg): its flicker over the oracle's (issue 21's pan yardstick) and over per-frame
    stylization's (the peer's stand-in), by both flows, and its sharpness over per-frame stylization's."""
    clip, oracle = temporal_clips.pan_with_oracle(net, count=count, step=step)
    reference = FlickerReference(clip)
    per_frame = [net(frame) for frame in clip]
    floor, peer, peer_sharpness = reference.ratios(oracle), reference.ratios(per_frame), sharpness(per_frame)
    rows = {}
    for label, outputs in [("oracle", oracle)] + [(c.label, run_config(c, clip, net)[0]) for c in configs]:
        flicker = reference.ratios(outputs)
        rows[label] = {**{f"over_oracle_{m}": flicker[m] / floor[m] for m in flicker},
                       **{f"over_per_frame_{m}": flicker[m] / peer[m] for m in flicker},
                       "sharpness": sharpness(outputs) / peer_sharpness}
        print(f"pan {step[0]:g}x{step[1]:g} {label:15s} flicker / oracle dis {rows[label]['over_oracle_dis']:5.2f} "
              f"farneback {rows[label]['over_oracle_farneback']:5.2f}  / per-frame dis "
              f"{rows[label]['over_per_frame_dis']:.3f} farneback {rows[label]['over_per_frame_farneback']:.3f}  "
              f"sharpness {rows[label]['sharpness']:.3f}", flush=True)
    return {"step": list(step), "frames": count, "rows": rows}


def pan_markdown(pan: dict) -> list[str]:
    """One table per pan: flicker over the oracle's and over per-frame stylization's, and sharpness."""
    lines = [f"### pan over aloeL.jpg, {pan['step'][0]:g} x {pan['step'][1]:g} px per frame ({pan['frames']} frames)",
             "", "| mode@size | flicker / oracle DIS | flicker / oracle Farneback | flicker / per-frame DIS "
             "| flicker / per-frame Farneback | sharpness / per-frame |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, r in pan["rows"].items():
        lines.append(f"| {label} | {r['over_oracle_dis']:.2f} | {r['over_oracle_farneback']:.2f} "
                     f"| {r['over_per_frame_dis']:.3f} | {r['over_per_frame_farneback']:.3f} | {r['sharpness']:.3f} |")
    return lines + [""]


def markdown(results: dict) -> str:
    """One table per clip: flicker (both flows), sharpness, ghosting, network runs, ms/frame and speed."""
    lines = []
    for name, res in results.items():
        if name == "pans":
            for pan in res:
                lines += pan_markdown(pan)
            continue
        if name == "pan_oracle":
            lines += ["### pan (flicker floor)", "", "| output | flicker DIS | flicker Farneback |",
                      "| --- | ---: | ---: |"]
            lines += [f"| {k} | {v['dis']:.2f} | {v['farneback']:.2f} |" for k, v in res.items()] + [""]
            continue
        base = res["rows"].get("off@full", {}).get("ms")
        lines += [f"### {name} ({res['frames']} frames)", "",
                  "| mode@size | flicker DIS | flicker Farneback | sharpness | far from per-frame | network runs | ms/frame "
                  "| speed |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for label, row in res["rows"].items():
            ghost = f"{100 * row['ghost']:.2f}%" if "ghost" in row else "-"
            speed = f"{base / row['ms']:.1f}x" if base else "-"
            lines.append(f"| {label} | {row['flicker_dis']:.2f} | {row['flicker_farneback']:.2f} | "
                         f"{row['sharpness']:.3f} | {ghost} | {row['keyframes']} | {row['ms']:.0f} | {speed} |")
        lines.append("")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.temporal.bench", description=__doc__.split("\n")[0])
    p.add_argument("--clips", default=",".join(temporal_clips.CLIPS))
    p.add_argument("--frames", type=int, default=90, help="frames per clip (default 90)")
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"MODE@SIZE list (default {DEFAULT_CONFIGS})")
    p.add_argument("--style", type=int, default=19, help="multistyle26 style index (default 19)")
    p.add_argument("--oracle", action="store_true", help="also measure the flicker floor on a whole-pixel pan")
    p.add_argument("--pans", help="also run every configuration on pans at these steps (px per frame, e.g. "
                                  "3x1,0.37x0.13) and report its flicker over the perfectly stable result's")
    p.add_argument("--json", help="write the numbers here")
    p.add_argument("--markdown", help="write the tables here (Markdown)")
    p.add_argument("--figures", help="folder for the frame strip and the warping-error plot (PNG)")
    return p


@one_line_errors("tools.temporal.bench")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configs = parse_configs(args.configs)
    clips = [c.strip() for c in args.clips.split(",") if c.strip()]
    missing = [c for c in clips if c not in temporal_clips.available()]
    if missing:
        raise EmocamError(f"clips not available here: {', '.join(missing)} (apt-get install opencv-doc)")
    try:
        steps = temporal_clips.parse_pan_steps(args.pans) if args.pans else []
    except ValueError as exc:
        raise EmocamError(f"--pans: {exc}") from None
    net = CachedNetwork(args.style)
    results = {}
    if args.oracle:
        results["pan_oracle"] = oracle_floor(net)
    try:
        pans = [pan_rows(net, configs, step) for step in steps]
    except ValueError as exc:  # a pan that leaves its photo
        raise EmocamError(f"--pans: {exc}") from None
    if pans:
        results["pans"] = pans
    for name in clips:
        clip = temporal_clips.load_clip(name, args.frames)
        results[name] = bench_clip(name, clip, configs, net)
        if args.figures:
            from tools.temporal.figures import write_figures

            write_figures(args.figures, name, clip, results[name])
        results[name].pop("outputs")
        net.cache.clear()
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"argv": list(argv or sys.argv[1:]), "style": args.style, "clips": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
