"""Cost of each region mode against `frame`, interleaved frame by frame so a busy machine's load hits all alike.

    python -m tools.bench.region_cost [--width 1280] [--frames 24] [--device cpu]

Two inputs: the bundled sample clip (one or two faces, one emotion on screen) and two real people with
different emotions side by side (the astronaut, happy, and Grace Hopper, neutral: two styles on screen).
Per mode: the median ms of the whole pipeline step, the median ms the region stage spent outside the style
network (segmentation, masks, compositing) and the style network runs per frame. Temporal mode is `off` for
all, so only the regions differ.

`--flicker` also measures how steady each mode is: the flicker ratio of tools.common.video_quality (output warping
error over the input's own, 1 = no flicker added; Farneback and DIS flow) on consecutive sample clip frames
with the default `--temporal stable`, so moving masks that jitter or trail would show as extra flicker.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import cv2
import numpy as np

from emocam.pipeline.pipeline import Pipeline
from emocam.pipeline.regions import MODES
from emocam.settings import Settings
from tools.bench.frame_loop import sample_frames


def two_people(width: int) -> np.ndarray:
    """The astronaut beside Grace Hopper (matplotlib's sample photo), `width` wide."""
    import matplotlib.cbook
    import skimage.data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = cv2.cvtColor(cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    right = cv2.resize(hopper, (round(hopper.shape[1] * 512 / hopper.shape[0]), 512), interpolation=cv2.INTER_AREA)
    pair = np.hstack([skimage.data.astronaut(), right])
    return cv2.resize(pair, (width, round(pair.shape[0] * width / pair.shape[1] / 2) * 2), interpolation=cv2.INTER_AREA)


def measure(frames: list[np.ndarray], device: str, warmup: int = 3) -> dict[str, dict[str, float]]:
    pipelines = {m: Pipeline(Settings(regions=m, temporal="off", detector="full", device=device)) for m in MODES}
    samples: dict[str, list[tuple[float, float, int]]] = {m: [] for m in MODES}
    try:
        for i, frame in enumerate(frames):
            for mode in (MODES if i % 2 == 0 else MODES[::-1]):
                started = time.perf_counter()
                result = pipelines[mode].process(frame, i / 30)
                ms = (time.perf_counter() - started) * 1000
                runs = len(result.facts.styles) if result.facts.regions != "frame" else 1
                if i >= warmup:
                    samples[mode].append((ms, result.timings.get("regions", 0.0), runs))
    finally:
        for pipeline in pipelines.values():
            pipeline.close()
    return {m: {"step_ms": statistics.median(s[0] for s in v), "regions_ms": statistics.median(s[1] for s in v),
                "network_runs": float(np.mean([s[2] for s in v]))} for m, v in samples.items()}


def flicker(count: int, long_side: int = 320) -> dict[str, dict[str, float]]:
    """Flicker ratios per region mode on `count` consecutive sample clip frames (temporal stable)."""
    from emocam.io.sources import SAMPLE_CLIP
    from tools.style.evaluate import read_frames
    from tools.common.video_quality import FlickerReference

    frames = read_frames(SAMPLE_CLIP, count, long_side, start=120)  # the pan to two faces
    reference = FlickerReference(frames)
    out = {}
    for mode in MODES:
        pipeline = Pipeline(Settings(regions=mode, detector="full"))
        try:
            outputs = [pipeline.process(f, i / 30).output for i, f in enumerate(frames)]
        finally:
            pipeline.close()
        out[mode] = reference.ratios(outputs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.region_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1280, help="input width in px (default 1280)")
    parser.add_argument("--frames", type=int, default=24, help="frames per input (default 24, 3 of them warm-up)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--flicker", type=int, default=0, metavar="N",
                        help="also the flicker ratio per mode on N consecutive clip frames (e.g. 40)")
    args = parser.parse_args(argv)
    if args.flicker and args.flicker < 3:
        print("region_cost: error: --flicker needs at least 3 frames", file=sys.stderr)
        return 2
    if not 64 <= args.width <= 4096 or args.frames < 4:
        print("region_cost: error: --width must be 64..4096 and --frames at least 4", file=sys.stderr)
        return 2
    clip = [cv2.resize(f, (args.width, round(args.width * 9 / 16 / 2) * 2)) for f in sample_frames(args.frames)]
    inputs = {"sample clip": clip, "two people, two emotions": [two_people(args.width)] * args.frames}
    print(f"{'input':<26}{'regions':<12}{'step ms':>9}{'x frame':>9}{'regions ms':>12}{'network runs':>14}")
    for name, frames in inputs.items():
        result = measure(frames, args.device)
        for mode, r in result.items():
            print(f"{name:<26}{mode:<12}{r['step_ms']:>9.1f}{r['step_ms'] / result['frame']['step_ms']:>9.2f}"
                  f"{r['regions_ms']:>12.1f}{r['network_runs']:>14.2f}")
    if args.flicker:
        print(f"\nflicker ratio, {args.flicker} consecutive sample clip frames, temporal stable")
        for mode, r in flicker(args.flicker).items():
            print(f"{mode:<12}" + "  ".join(f"{method} {value:.3f}" for method, value in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
