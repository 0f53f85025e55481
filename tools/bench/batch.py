"""`python -m tools.bench --batch`: batch throughput on Ray with 1 and 2 workers, the per-chunk overhead,
and a projection for N machines from those measurements.

It writes a video-only H.264 clip (the bundled sample looped, 640x480, a keyframe every second), then:
  1. renders it in this process as one chunk (no Ray, no warm-up): the pure per-frame cost and model load;
  2. renders it with `emocam render LIST -o OUT --workers W` for each W (a local Ray started per run):
     wall time, frames/s, Ray start-up, actor start-up + model load, and per chunk open/seek, warm-up, join.
The projection assumes every machine is like this one and the input is on storage all workers read.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import av
from fractions import Fraction

from emocam.batch.chunks import auto_warmup, plan_chunks, probe
from emocam.batch.report import REPORT_NAME
from emocam.batch.worker import ChunkRenderer
from emocam.cli import main as emocam_main
from emocam.io.sources import SAMPLE_CLIP
from emocam.settings import Settings


def make_clip(path: Path, seconds: float) -> Path:
    """The sample's frames looped to `seconds`, 30 fps, keyframe every 30 frames, no audio."""
    with av.open(str(SAMPLE_CLIP)) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    with av.open(str(path), "w") as dst:
        stream = dst.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"preset": "veryfast", "x264-params": "keyint=30:min-keyint=30:scenecut=0"}
        for i in range(round(seconds * 30)):
            frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode())
    return path


def single_process(clip: Path, settings: Settings) -> dict:
    """The clip as one chunk in this process: model load, and frames/s with nothing else in the way."""
    renderer = ChunkRenderer(settings)
    (chunk,) = plan_chunks(probe(clip), math.inf, 0.0)
    result = renderer.render(chunk)
    return {"load_s": renderer.load_s, "frames": result.frames, "seconds": result.seconds,
            "fps": result.frames / result.seconds}


def on_ray(clip: Path, workers: int, chunk_s: float, process_size: int, workdir: Path) -> dict:
    """One batch run on a fresh local Ray with `workers` workers."""
    listing = workdir / "inputs.txt"
    listing.write_text(f"{clip}\n")
    out = workdir / f"out-{workers}"
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = emocam_main(["render", str(listing), "-o", str(out), "--workers", str(workers),
                            "--chunk-seconds", str(chunk_s), "--process-size", str(process_size)])
    total = time.perf_counter() - started
    report = json.loads((out / REPORT_NAME).read_text())
    (entry,) = report["files"]
    if code != 0 or entry["status"] != "done":
        raise SystemExit(f"batch run with {workers} workers failed: {entry['error']}")
    chunks = entry["chunk_stats"]
    per_frame = statistics.median((c["seconds"] - c["open_s"] - c["warmup_s"]) / c["frames"] for c in chunks)
    return {
        "workers": workers, "frames": entry["frames"], "wall_s": report["wall_seconds"], "total_s": total,
        "ray_start_s": total - report["wall_seconds"], "fps": entry["frames"] / report["wall_seconds"],
        "actor_load_s": report["worker_load_seconds"], "chunks": len(chunks),
        "open_s": statistics.mean(c["open_s"] for c in chunks),
        "warmup_s": statistics.mean(c["warmup_s"] for c in chunks if c["warmup_frames"]) if len(chunks) > 1 else 0.0,
        "warmup_frames": statistics.mean(c["warmup_frames"] for c in chunks if c["warmup_frames"]) if len(chunks) > 1 else 0,
        "join_s": entry["join_seconds"], "driver_s": entry["driver_seconds"], "worker_s_per_frame": per_frame,
        "processed": entry["frames"] + sum(c["warmup_frames"] for c in chunks),
    }


def projection(runs: list[dict], warmup_s: float, fps_src: float = 30.0) -> list[str]:
    """Time for a 1-hour video and for 1000 one-minute clips on N machines like this one.

    Each machine runs the workers of the largest measured run at the rate that run really reached
    (frames processed, warm-up included, over its wall time after the workers came up). Workers scale
    until either there are fewer chunks than workers (a single video: duration / chunk length), or the
    driver, which stores, checks and joins every chunk on its own, becomes the slowest part."""
    run = max(runs, key=lambda r: r["workers"])
    rate = run["processed"] / (run["wall_s"] - max(run["actor_load_s"] or [0.0]))  # frames/s of the machine
    per_frame = run["workers"] / rate  # seconds of one worker per frame, with its neighbours busy
    startup = run["ray_start_s"] + max(run["actor_load_s"] or [0.0])
    driver_per_frame = run["driver_s"] / run["frames"]  # storing, checksums, remux on the driver
    lines = ["| machines | workers | 1-hour video, 60 s chunks | 1000 x 1-min clips | bound by |", "|---|---|---|---|---|"]
    for n in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        workers = n * run["workers"]
        chunk_work = (60 + warmup_s) * fps_src * per_frame + run["open_s"]
        hour = startup + math.ceil(60 / min(workers, 60)) * chunk_work + driver_per_frame * 3600 * fps_src
        clip_work = 60 * fps_src * per_frame + run["open_s"]
        worker_time = math.ceil(1000 / workers) * clip_work
        driver_time = driver_per_frame * 1000 * 60 * fps_src
        clips = startup + max(worker_time, driver_time) + clip_work
        bound = "workers" if workers < 60 else "chunks (1 video)"
        bound += "; driver (clips)" if driver_time >= worker_time else ""
        lines.append(f"| {n} | {workers} | {hour / 60:.1f} min | {clips / 60:.1f} min | {bound} |")
    return lines


def run(argv: list[str]) -> int:
    # Ray runs its workers at nice 15; the single-process baseline runs at 0. Level them, so a busy
    # machine does not make the workers look slower than they are.
    os.environ.setdefault("RAY_worker_niceness", "0")
    parser = argparse.ArgumentParser(prog="python -m tools.bench --batch")
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the bench clip (default 20)")
    parser.add_argument("--chunk-seconds", type=float, default=5.0, help="chunk length (default 5)")
    parser.add_argument("--process-size", type=int, default=128, help="style network size (default 128)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    parser.add_argument("--markdown", type=Path, help="also write the results as Markdown here")
    args, _ = parser.parse_known_args(argv)
    settings = Settings.for_surface("render")
    settings.process_size = args.process_size
    with tempfile.TemporaryDirectory(prefix="emocam-bench-batch-") as scratch:
        workdir = Path(scratch)
        clip = make_clip(workdir / "long.mp4", args.seconds)
        base = single_process(clip, settings)
        runs = [on_ray(clip, int(w), args.chunk_seconds, args.process_size, workdir) for w in args.workers.split(",")]
    warm = auto_warmup(settings)
    lines = [f"Batch bench: {args.seconds:g} s clip 640x480 at 30 fps, --process-size {args.process_size}, "
             f"chunks of {args.chunk_seconds:g} s, warm-up {warm:g} s; {os.cpu_count()} CPU cores, load average "
             f"{os.getloadavg()[0]:.1f} at the end",
             "", f"Single process, one chunk, no Ray: model load {base['load_s']:.1f} s, {base['frames']} frames in "
             f"{base['seconds']:.1f} s = {base['fps']:.1f} frames/s", "",
             "| workers | frames/s | wall s (after Ray start) | Ray start s | worker start + model load s | chunks | "
             "open+seek s/chunk | warm-up s/chunk (frames) | join s | driver s | worker s/frame |", "|---" * 11 + "|"]
    for r in runs:
        loads = ", ".join(f"{s:.1f}" for s in r["actor_load_s"])
        lines.append(f"| {r['workers']} | {r['fps']:.1f} | {r['wall_s']:.1f} | {r['ray_start_s']:.1f} | {loads} | "
                     f"{r['chunks']} | {r['open_s']:.3f} | {r['warmup_s']:.1f} ({r['warmup_frames']:.0f}) | "
                     f"{r['join_s']:.2f} | {r['driver_s']:.2f} | {r['worker_s_per_frame'] * 1000:.1f} ms |")
    if len(runs) > 1:
        lines += ["", f"Speed-up {runs[-1]['workers']} vs {runs[0]['workers']} workers: "
                  f"{runs[-1]['fps'] / runs[0]['fps']:.2f}x", "", "Projection (machines like this one):", ""]
        lines += projection(runs, warm)
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0
