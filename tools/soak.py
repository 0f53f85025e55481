"""Soak test of the live window: the real worker threads on a looping file, offscreen, for N minutes.

Prints a table (minute, fps, RSS MB) as it goes, then memory growth and fps drift.
With --record-ab S the window records for S seconds, then not for S seconds, and so on, and the
frame rate with and without recording is compared.

    nice python -m tools.soak --minutes 20
    python -m tools.soak --minutes 4 --record-ab 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from emocam.pipeline.sources import SAMPLE_CLIP
from tools.args import ToolParser, positive_number


def rss_mb() -> float:
    """Resident memory of this process in MB (psutil where installed, else /proc/self/status)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        pass
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ToolParser(prog="python -m tools.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SAMPLE_CLIP), help="video file (loops)")
    parser.add_argument("--minutes", type=positive_number, default=20.0)
    parser.add_argument("--interval", type=positive_number, default=60.0, help="seconds per table row")
    parser.add_argument("--process-size", type=int, default=384, help="longest side the style network sees")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--record-ab", type=positive_number, metavar="S", help="toggle recording every S seconds and compare fps")
    parser.add_argument("--out", help="folder for recordings (default: a temp folder, deleted)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    config = tempfile.TemporaryDirectory(prefix="emocam-soak-")
    records = Path(args.out) if args.out else Path(config.name)
    (Path(config.name) / "live.json").write_text(json.dumps(
        {"process_size": args.process_size, "device": args.device, "record_dir": str(records)}))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from emocam.live.outputs import ON, WAITING
    from emocam.live.window import MainWindow
    from emocam.settings import SettingsFile

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(SettingsFile(Path(config.name) / "live.json"), source=args.source)
    window.show()
    start = time.monotonic()
    rows: list[tuple[float, float, float]] = []
    last = {"t": start, "frames": 0}
    ab: dict[bool, list[float]] = {True: [], False: []}
    ab_last = {"t": start, "frames": 0}

    print(f"soak: {args.source}, {args.minutes} min, process size {args.process_size}", flush=True)
    print(f"{'minute':>7} {'fps':>7} {'RSS MB':>8}", flush=True)

    def sample() -> None:
        now = time.monotonic()
        fps = (window.frames_shown - last["frames"]) / (now - last["t"])
        last.update(t=now, frames=window.frames_shown)
        rows.append(((now - start) / 60, fps, rss_mb()))
        print(f"{rows[-1][0]:7.1f} {fps:7.2f} {rows[-1][2]:8.1f}", flush=True)
        if now - start >= args.minutes * 60:
            app.quit()

    def toggle_record() -> None:
        now = time.monotonic()
        recording = window.controller.recording.state in (WAITING, ON)
        if now - start > 20:  # skip the warm-up (models loading, thumbnails)
            ab[recording].append((window.frames_shown - ab_last["frames"]) / (now - ab_last["t"]))
        ab_last.update(t=now, frames=window.frames_shown)
        window.set_recording(not recording)

    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(int(args.interval * 1000))
    if args.record_ab:
        ab_timer = QTimer()
        ab_timer.timeout.connect(toggle_record)
        ab_timer.start(int(args.record_ab * 1000))
    app.exec()
    window.close()
    report(rows, ab)
    config.cleanup() if not args.out else None
    return 0


def report(rows: list[tuple[float, float, float]], ab: dict[bool, list[float]]) -> None:
    """Memory growth and fps drift between the first and the last rows (the first row is warm-up)."""
    steady = rows[1:] if len(rows) > 2 else rows
    if len(steady) >= 2:
        first, lastrow = steady[0], steady[-1]
        half = max(1, len(steady) // 2)
        early = statistics.mean(r[1] for r in steady[:half])
        late = statistics.mean(r[1] for r in steady[half:])
        print(f"memory: {first[2]:.1f} -> {lastrow[2]:.1f} MB "
              f"({lastrow[2] - first[2]:+.1f} MB over {lastrow[0] - first[0]:.1f} min, "
              f"{(lastrow[2] - first[2]) / max(lastrow[0] - first[0], 1e-9):+.2f} MB/min)")
        print(f"fps: mean {statistics.mean(r[1] for r in steady):.2f}, first half {early:.2f}, "
              f"second half {late:.2f}, drift {100 * (late - early) / max(early, 1e-9):+.1f}%")
    if ab[True] and ab[False]:
        on, off = statistics.mean(ab[True]), statistics.mean(ab[False])
        print(f"recording: {on:.2f} fps on ({len(ab[True])} spans) vs {off:.2f} fps off ({len(ab[False])} spans): "
              f"{100 * (on - off) / max(off, 1e-9):+.1f}%")


if __name__ == "__main__":
    raise SystemExit(main())
