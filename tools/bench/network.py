"""The style network alone, as emocam loads it (spelled-out instance norms folded) and as the file is.

Both sessions run in turns on the same input, so the ratio holds on a shared, noisy machine; the outputs are
compared too (the fold must not change a pixel beyond float rounding).

    python -m tools.bench --network [--sizes 320x240,512x384,640x480] [--runs 15] [--model multistyle26.onnx]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Sequence

import numpy as np
import onnxruntime as ort

from emocam.errors import EmocamError
from emocam.modelstore import runtime
from emocam.modelstore.manifest import find_model
from tools.common.args import ToolParser, frame_sizes
from tools.common.machine import CpuShare, machine_lines


def _session(model: str | bytes) -> ort.InferenceSession:
    """A CPU session with the options emocam's own sessions get."""
    return ort.InferenceSession(model, runtime.session_options(), providers=[runtime.CPU])


def _feed(session: ort.InferenceSession, width: int, height: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feed = {}
    for inp in session.get_inputs():
        if inp.name == "style_weights":
            feed[inp.name] = np.eye(26, dtype=np.float32)[19]
        else:
            feed[inp.name] = rng.random((1, 3, height, width), dtype=np.float32)
    return feed


def compare(model: str, sizes: list[tuple[int, int]], runs: int) -> list[dict]:
    """Median ms per run of the file as is and as loaded, per size, measured in turns."""
    path = find_model(model)
    loaded = runtime.loadable(path)
    if not isinstance(loaded, bytes):
        raise EmocamError(f"{model}: nothing to fold, emocam loads the file as it is")
    as_is, folded = _session(str(path)), _session(loaded)
    rows = []
    for width, height in sizes:
        feed = _feed(as_is, width, height)
        outs = [s.run(None, feed)[0] for s in (as_is, folded)]  # warm-up, and the outputs compared
        times: tuple[list[float], list[float]] = ([], [])
        for _ in range(runs):
            for session, spent in zip((as_is, folded), times):
                started = time.perf_counter()
                session.run(None, feed)
                spent.append((time.perf_counter() - started) * 1000)
        a, b = statistics.median(times[0]), statistics.median(times[1])
        rows.append({"size": f"{width}x{height}", "file_ms": a, "loaded_ms": b, "speedup": a / b,
                     "max_diff": float(np.abs(outs[0] - outs[1]).max())})
    return rows


def run(argv: Sequence[str]) -> int:
    p = ToolParser(prog="python -m tools.bench --network", description=__doc__.split("\n")[0])
    p.add_argument("--network", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", default="multistyle26.onnx")
    p.add_argument("--sizes", default="320x240,384x288,512x384,640x480", help="WIDTHxHEIGHT list, multiples of 4")
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args(list(argv))
    sizes = frame_sizes(args.sizes, 16)
    if not 1 <= args.runs <= 1000:
        raise EmocamError("--runs must be 1-1000")
    share = CpuShare()
    rows = compare(args.model, sizes, args.runs)
    print("\n".join(machine_lines(f"default ({args.model})", share.cores())))
    print(f"{'size':10s} {'file ms':>8s} {'loaded ms':>10s} {'speed-up':>9s} {'max diff':>9s}")
    for r in rows:
        print(f"{r['size']:10s} {r['file_ms']:8.1f} {r['loaded_ms']:10.1f} {r['speedup']:8.2f}x {r['max_diff']:9.1e}")
    return 0

