"""Soak the real live window: recordings started and stopped, packs and modes switched, memory reported.

Opens emocam's MainWindow on a looping video (the real worker threads, encoder and remux) and, on a schedule,
does what a long-running installation does: starts a recording every `--record-every` seconds and stops it after
`--record-seconds`, and every `--switch-every` seconds switches to the next pack and region/temporal mode.
Resident memory is sampled every `--interval` seconds (table on stdout, `--csv` file), then the growth slope
after the warm-up, the growth per recording and the verdict against the goal (at most 50 MB an hour).

    xvfb-run -a python -m tools.soak --minutes 60                       # a recording started every minute
    python -m tools.soak --minutes 6 --record-every 15 --record-seconds 8 --csv soak.csv   # a quick check

Without a display (no DISPLAY, no xvfb-run) the window is drawn offscreen (QT_QPA_PLATFORM=offscreen).
Finished recordings are checked (a regular MP4 under the final name) and deleted unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from emocam.io.sources import SAMPLE_CLIP
from tools.common.args import ToolParser, one_line_errors, positive_number
from tools.soak.report import Sample, SoakLog, native_threads, rss_mb, verdict

PACKS = ("default", "johnson-distilled")
MODES = (("frame", "stable"), ("person", "guided"), ("background", "keyframe"), ("frame", "off"))  # regions, temporal


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ToolParser(prog="python -m tools.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SAMPLE_CLIP), help="video file (loops)")
    parser.add_argument("--minutes", type=positive_number, default=60.0, help="how long to run")
    parser.add_argument("--interval", type=positive_number, default=30.0, help="seconds between memory samples")
    parser.add_argument("--record-every", type=positive_number, default=60.0, metavar="S",
                        help="start a recording every S seconds")
    parser.add_argument("--record-seconds", type=positive_number, default=30.0, metavar="S",
                        help="each recording's length (shorter than --record-every)")
    parser.add_argument("--no-record", action="store_true", help="no recordings (the control run)")
    parser.add_argument("--switch-every", type=positive_number, default=120.0, metavar="S",
                        help="switch pack and mode every S seconds")
    parser.add_argument("--no-switch", action="store_true", help="keep the first pack and mode")
    parser.add_argument("--warmup", type=positive_number, default=2.0, metavar="MIN",
                        help="minutes left out of the growth slope (models loading)")
    parser.add_argument("--process-size", type=int, default=320, help="longest side the style network sees")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--csv", type=Path, help="write the samples to this CSV file as they come")
    parser.add_argument("--out", type=Path, help="folder for the recordings (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the recordings (default: check, then delete)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args(argv)
    if not args.no_record and args.record_seconds >= args.record_every:
        parser.error("--record-seconds must be shorter than --record-every")
    if not Path(args.source).is_file():
        parser.error(f"--source {args.source} is not a file")
    if args.out is not None and not args.out.is_dir():
        parser.error(f"--out {args.out} is not a folder")
    return args


class Soak:
    """The schedule: each `tick` (every second, on the window's thread) does what is due."""

    def __init__(self, window, args: argparse.Namespace, log: SoakLog) -> None:
        self.window, self.args, self.log = window, args, log
        self.start = time.monotonic()
        self.next_record = 10.0  # the first recording once the window runs
        self.stop_at: float | None = None
        self.next_switch = args.switch_every
        self.next_sample = 0.0
        self.switches = 0
        self.recordings = 0
        self.finished = 0
        self.unstarted = 0  # stopped before the live frame rate was measured
        self.problems: list[str] = []
        self.baseline = None  # tracemalloc snapshot at the end of the warm-up
        self._frames = (0, self.start)

    def tick(self) -> bool:
        """Do what is due; False when the soak is over."""
        t = time.monotonic() - self.start
        if self.stop_at is not None and t >= self.stop_at:
            self._stop_recording()
        if not self.args.no_record and t >= self.next_record and self.stop_at is None:
            self.window.set_recording(True)
            self.recordings += 1
            self.stop_at = t + self.args.record_seconds
            self.next_record += self.args.record_every
        if not self.args.no_switch and t >= self.next_switch:
            self._switch()
            self.next_switch += self.args.switch_every
        if t >= self.next_sample:
            self._sample(t)
            self.next_sample += self.args.interval
        if t >= self.args.minutes * 60:
            self._stop_recording()
            self._sample(t)
            return False
        return True

    def _stop_recording(self) -> None:
        if self.stop_at is None:
            return
        self.stop_at = None
        recording = self.window.controller.recording
        recorder, waiting = recording.recorder, recording.state == "waiting"
        self.window.set_recording(False)
        if recorder is None:
            if waiting:  # stopped while still measuring the frame rate (a slow pack): no file, no failure
                self.unstarted += 1
            else:
                self.problems.append(f"minute {self._minute():.1f}: {recording.status}")
            return
        if recorder.remuxed and recorder.path.is_file() and not recorder.writing.exists():
            self.finished += 1
        else:
            self.problems.append(f"minute {self._minute():.1f}: {recorder.error or 'not finished'}")
        if not self.args.keep:
            recorder.path.unlink(missing_ok=True)
        self._sample(time.monotonic() - self.start, kind="stop")

    def _switch(self) -> None:
        self.switches += 1
        regions, temporal = MODES[self.switches % len(MODES)]
        self.window.set_setting("pack", PACKS[self.switches % len(PACKS)])
        self.window.set_setting("regions", regions)
        self.window.set_setting("temporal", temporal)

    def _minute(self) -> float:
        return (time.monotonic() - self.start) / 60

    def _sample(self, t: float, kind: str = "interval") -> None:
        # no gc.collect() here: the soak measures the app as it runs, cycles and all
        frames, since = self._frames
        now = time.monotonic()
        fps = (self.window.frames_shown - frames) / max(now - since, 1e-9)
        self._frames = (self.window.frames_shown, now)
        python_mb = float("nan")
        if self.args.tracemalloc:
            import tracemalloc

            python_mb = tracemalloc.get_traced_memory()[0] / 2**20
            if self.baseline is None and t >= self.args.warmup * 60:
                self.baseline = tracemalloc.take_snapshot()
        s = self.window.settings
        self.log.add(Sample(round(t / 60, 2), round(rss_mb(), 1), round(fps, 2), self.recordings, self.finished,
                            native_threads(), round(python_mb, 1), self.window.controller.recording.state,
                            s.pack, f"{s.regions}/{s.temporal}", kind))


@one_line_errors("python -m tools.soak")
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    config = tempfile.TemporaryDirectory(prefix="emocam-soak-")
    records = args.out or Path(config.name)
    (Path(config.name) / "live.json").write_text(json.dumps(
        {"process_size": args.process_size, "device": args.device, "record_dir": str(records),
         "pack": PACKS[0], "regions": MODES[0][0], "temporal": MODES[0][1]}))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from emocam.live.app import _forget_opencv_qt_plugins
    from emocam.live.window import MainWindow
    from emocam.settings import SettingsFile

    _forget_opencv_qt_plugins()  # as `emocam live` does: PySide6 cannot load OpenCV's Qt plugins
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(SettingsFile(Path(config.name) / "live.json"), source=args.source)
    window.show()
    cadence = "no recordings" if args.no_record else \
        f"a {args.record_seconds:g} s recording every {args.record_every:g} s"
    print(f"soak: {args.source}, {args.minutes:g} min, {cadence}, "
          f"{'no switches' if args.no_switch else f'pack/mode switch every {args.switch_every:g} s'}, "
          f"process size {args.process_size}, platform {app.platformName()}, pid {os.getpid()}", flush=True)
    log = SoakLog(sys.stdout, args.csv)
    soak = Soak(window, args, log)
    timer = QTimer()
    timer.timeout.connect(lambda: soak.tick() or app.quit())
    timer.start(1000)
    app.exec()
    window.close()  # waits for a pack still loading and closes the pipeline (Controller.shutdown)
    log.close()
    result = verdict(log.samples, args.warmup, None if args.no_record else args.record_every)
    print(f"recordings: {soak.recordings} started, {soak.finished} finished as regular MP4s, "
          f"{soak.unstarted} stopped while the frame rate was still being measured; "
          f"{soak.switches} pack/mode switches", flush=True)
    for problem in soak.problems:
        print(f"problem: {problem}", flush=True)
    if result is None:
        print(f"too short to judge: fewer than two samples after the {args.warmup:g} min warm-up", flush=True)
    else:
        print("\n".join(result.lines()), flush=True)
    if args.tracemalloc and soak.baseline is not None:
        import tracemalloc

        print("Python allocations that grew most since the warm-up (tracemalloc):", flush=True)
        for stat in tracemalloc.take_snapshot().compare_to(soak.baseline, "lineno")[:12]:
            print(f"  {stat}", flush=True)
    config.cleanup()
    return 0 if result is not None and result.passed and not soak.problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
