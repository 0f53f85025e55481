"""Each shipped style network on each backend and precision, in turns on the same real frame.

Rows: onnxruntime fp32 (the reference), OpenVINO fp32, and OpenVINO at the processor's native precision (bf16
where the CPU has AMX / AVX-512 BF16); median ms per run, the speed-up over onnxruntime and the PSNR of the
output against onnxruntime's. A run is what the app runs: a uint8 frame in and a picture out, so multistyle26's
rows include the conversions (numpy around onnxruntime, inside the graph on OpenVINO: `Network.run_image`). The backends take turns run by run, so the ratios hold on a shared, noisy machine.

    python -m tools.bench --backends [--sizes 320x240,640x480] [--runs 9] [--networks multistyle26,johnson,transform]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Sequence

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.modelstore.manifest import find_model
from emocam.packs.pictures import ENCODER, TRANSFORM_MODEL, transform_network
from emocam.io.sources import SAMPLE_CLIP, VideoFileSource
from emocam.packs.registry import load_pack
from emocam.runtime import load_network
from emocam.runtime import openvino as ov_backend
from emocam.runtime.base import image_tensor, tensor_image
from tools.common.args import ToolParser, frame_sizes
from tools.common.machine import CpuShare, machine_lines

NETWORKS = ("multistyle26", "johnson", "transform")


def _frame() -> np.ndarray:
    source = VideoFileSource(SAMPLE_CLIP)
    try:
        return next(iter(source.frames())).image
    finally:
        source.close()


def _runtimes() -> list[tuple[str, str]]:
    out = [("cpu-onnxruntime", "fp32")]
    if "cpu" in ov_backend.devices():
        out.append(("cpu", "fp32"))
        if ov_backend.native_precision("cpu") != "fp32":
            out.append(("cpu", "auto"))
    return out


def _loader(name: str):
    """(load(device, precision) -> network, stylize(network, rgb frame) -> uint8 picture) for one shipped network."""
    if name == "multistyle26":
        path = find_model("multistyle26.onnx")
        style = {"style_weights": np.eye(26, dtype=np.float32)[19]}
        return lambda d, p: load_network(path, d, p), lambda net, img: net.run_image(img, "image", style)
    if name == "johnson":
        path = load_pack("johnson-distilled").models["happy"]
        return (lambda d, p: load_network(path, d, p),
                lambda net, img: _pixels(net.run({"image": image_tensor(img)})[0]))
    import skimage.data

    vector = ENCODER.encode(skimage.data.coffee()).reshape(1, 1, 1, -1)
    feed = lambda img: {"content_image": img[None].astype(np.float32) / 255, "mobilenet_conv/Conv/BiasAdd": vector}  # noqa: E731
    return (lambda d, p: transform_network(find_model(TRANSFORM_MODEL), d, p),
            lambda net, img: _pixels(net.run(feed(img))[0]))


def _pixels(out: np.ndarray) -> np.ndarray:
    """A [1,3,H,W] or [1,H,W,3] output (float32 or float16) as a uint8 HxWx3 picture."""
    return tensor_image((out if out.shape[1] == 3 else out.transpose(0, 3, 1, 2)).astype(np.float32))


def compare(networks: list[str], sizes: list[tuple[int, int]], runs: int) -> list[dict]:
    """Median ms, speed-up over onnxruntime and PSNR against it, per network, size and runtime."""
    frame, rows = _frame(), []
    for name in networks:
        load, stylize = _loader(name)
        nets = {(d, p): load(d, p) for d, p in _runtimes()}
        for w, h in sizes:
            image = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            outs = {k: stylize(n, image) for k, n in nets.items()}  # warm-up (compiles the shape)
            times: dict = {k: [] for k in nets}
            for _ in range(runs):
                for k, n in nets.items():
                    started = time.perf_counter()
                    stylize(n, image)
                    times[k].append((time.perf_counter() - started) * 1000)
            ref = statistics.median(times[("cpu-onnxruntime", "fp32")])
            for k, n in nets.items():
                mse = float(np.mean((outs[k].astype(np.float64) - outs[("cpu-onnxruntime", "fp32")]) ** 2))
                ms = statistics.median(times[k])
                rows.append({"network": name, "size": f"{w}x{h}", "ran": str(n.ran), "ms": ms, "speedup": ref / ms,
                             "psnr": 10 * np.log10(255 ** 2 / mse) if mse > 0 else float("inf")})
    return rows


def run(argv: Sequence[str]) -> int:
    p = ToolParser(prog="python -m tools.bench --backends", description=__doc__.split("\n")[0])
    p.add_argument("--backends", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--networks", default=",".join(NETWORKS), help=f"comma list of {', '.join(NETWORKS)}")
    p.add_argument("--sizes", default="320x240,640x480", help="WIDTHxHEIGHT list, multiples of 4")
    p.add_argument("--runs", type=int, default=9)
    args = p.parse_args(list(argv))
    networks = [n.strip() for n in args.networks.split(",") if n.strip()]
    if not networks or any(n not in NETWORKS for n in networks):
        raise EmocamError(f"--networks {args.networks!r}: use a comma list of {', '.join(NETWORKS)}")
    sizes = frame_sizes(args.sizes, 32)
    if not 1 <= args.runs <= 1000:
        raise EmocamError("--runs must be 1-1000")
    share = CpuShare()
    rows = compare(networks, sizes, args.runs)
    print("\n".join(machine_lines("shipped networks", share.cores())))
    print("| network | size | ran on | ms | vs onnxruntime | PSNR vs onnxruntime fp32 |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['network']} | {r['size']} | {r['ran']} | {r['ms']:.1f} | {r['speedup']:.2f}x | {r['psnr']:.1f} dB |")
    return 0
