"""The batch options of `emocam render` (kept apart so `--help` does not load the pipeline)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from emocam.batch import ray_address
from emocam.io import output_paths
from emocam.errors import EmocamError

DEFAULT_CHUNK_S = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that only a batch (several inputs, or -o OUTDIR with a folder, glob or list) uses."""
    group = parser.add_argument_group("batch (several inputs, a folder of videos, a glob or a list file; "
                                      "-o OUTDIR; --json names a folder, one records file per input)")
    group.add_argument("--workers", type=int, metavar="N", help="Ray workers to start (default: one per GPU, "
                       "else one per 2 CPU cores that memory allows)")
    group.add_argument("--ray-address", metavar="auto|HOST:PORT|ray://HOST:PORT", help="join an existing Ray "
                       "cluster (default: start a local one sized to this machine)")
    group.add_argument("--chunk-seconds", type=float, default=DEFAULT_CHUNK_S, metavar="S",
                       help=f"split longer videos at keyframes into chunks of about S seconds (default: {DEFAULT_CHUNK_S:g})")
    group.add_argument("--warmup", type=float, metavar="S", help="seconds rendered and thrown away before each "
                       "chunk so smoothing and tracks are continuous (default: 5 x smoothing + dwell + blend + hold, at least 2)")


def check_args(args: argparse.Namespace) -> Path:
    if args.output is None:
        raise EmocamError("several inputs need -o OUTDIR, the folder the outputs go to")
    if args.ray_address is not None:
        try:
            ray_address.check(args.ray_address)
        except ValueError as exc:
            raise EmocamError(str(exc)) from None
    if args.workers is not None and args.workers < 1:
        raise EmocamError(f"--workers must be at least 1, got {args.workers}")
    if not (math.isfinite(args.chunk_seconds) and args.chunk_seconds > 0):
        raise EmocamError(f"--chunk-seconds must be above 0, got {args.chunk_seconds}")
    if args.warmup is not None and not (math.isfinite(args.warmup) and 0 <= args.warmup <= 600):
        raise EmocamError(f"--warmup must be between 0 and 600 s, got {args.warmup}")
    if args.json is not None and Path(args.json).exists() and not Path(args.json).is_dir():
        raise EmocamError(f"--json {args.json} is a file; a batch writes one records file per input into a folder")
    outdir = Path(args.output)
    if outdir.exists() and not outdir.is_dir():
        raise EmocamError(f"-o {outdir} is a file; several inputs need a folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmocamError(f"cannot create the output folder {outdir}: {exc.strerror}") from None
    output_paths.probe_folder(outdir)
    return outdir
