"""The CUDA path end to end, in one short run on a machine with an NVIDIA GPU (never run in the development
session: it has none). It checks that every network really runs on the CUDA provider (nothing fell back to the
CPU), then measures `emocam render`'s loop and the live window at 1280x720 and 1920x1080 with full-size
stylization, and the live window's capture-to-screen latency.

    python -m tools.bench.gpu_check [--frames 60] [--live-seconds 12] [--markdown gpu.md]

Exit 0 when every network ran on CUDA, 2 (one line) when CUDA is not usable here.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.modelstore import runtime as ort_runtime
from emocam.modelstore.manifest import find_model
from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier
from emocam.packs.pictures import TRANSFORM_MODEL, transform_network
from emocam.pipeline.style import Stylizer
from emocam.packs.registry import load_pack
from tools.bench import frame_loop as bench
from tools.common.args import one_line_errors
from tools.common.machine import machine_lines

SIZES = ((1280, 720), (1920, 1080))


def providers_used() -> list[str]:
    """Each shipped network loaded with --device cuda: the providers its session really has, checked."""
    networks = {"emotion classifier": EmotionClassifier(find_model(DEFAULT_EMOTION_MODEL), "cuda").network,
                "multistyle26": Stylizer(load_pack("default"), "cuda").networks["*"],
                "johnson-distilled/happy": Stylizer(load_pack("johnson-distilled"), "cuda").networks["happy"],
                "pictures transform": transform_network(find_model(TRANSFORM_MODEL), "cuda")}
    lines = []
    for name, network in networks.items():
        used = network.session.get_providers()
        if network.ran.device != "cuda" or used[0] != ort_runtime.CUDA:
            raise EmocamError(f"{name} does not run on CUDA: providers {used}")
        feed = {s.name: np.zeros([d if isinstance(d, int) else (1 if i == 0 else 64) for i, d in enumerate(s.shape)],
                                 s.dtype) for s in network.inputs}
        network.run(feed)
        lines.append(f"{name}: {network.ran}, providers {', '.join(used)}")
    return lines


def live_run(clip: Path, seconds: float) -> str:
    """The live window (offscreen) on `clip` at full-size stylization: its HUD line at close."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as config:
        env["EMOCAM_CONFIG_DIR"] = config
        done = subprocess.run([sys.executable, "-m", "emocam", "live", "--source", str(clip), "--duration", str(seconds),
                               "--device", "cuda", "--process-size", "0"], capture_output=True, text=True, env=env)
    line = next((x for x in done.stdout.splitlines() if "HUD at close" in x), "")
    if not line:
        tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise EmocamError(f"the live window gave no HUD line: {tail}")
    return line.split("HUD at close: ", 1)[1]


@one_line_errors("gpu_check")
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench.gpu_check", description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=60, help="measured render frames per size (default 60)")
    p.add_argument("--live-seconds", type=float, default=12.0, help="seconds of live window per size (default 12)")
    p.add_argument("--markdown", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    usable, reason = ort_runtime.cuda_status()
    if not usable:
        raise EmocamError(f"CUDA is not usable here: {reason}")
    out = machine_lines("default")
    out += ["", "networks on --device cuda:", *providers_used(), ""]
    rows = bench.run_bench(["cuda"], list(SIZES), [None], args.frames, 5, "default", ("off", "stable"))
    out += ["emocam render's loop, full-size stylization:", bench.text_table(rows), ""]
    frames = bench.sample_frames(90)
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            clip = bench.write_clip(frames, size, Path(tmp) / f"live_{size[0]}x{size[1]}.mp4")
            out.append(f"live window {size[0]}x{size[1]}, full size: {live_run(clip, args.live_seconds)}")
    text = "\n".join(out)
    print(text)
    if args.markdown:
        args.markdown.write_text("```\n" + text + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
