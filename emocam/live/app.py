"""`emocam live` entry points: `add_arguments(parser)` and `run(args) -> int` (Qt loads in `run`)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from emocam import settings
from emocam.errors import EmocamError

SCREENSHOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `emocam live` (plain `emocam` uses the same defaults): the live app's own, then the
    settings schema's live options; a setting given here overrides the saved one and is saved."""
    parser.add_argument("--source", default="0", metavar="CAMERA_INDEX|VIDEO_FILE",
                        help="camera index or video file; a file loops (default: camera 0)")
    parser.add_argument("--record", metavar="PATH", help="record the styled video to this .mp4 from the start")
    parser.add_argument("--virtual-cam", action="store_true", help="send the styled video to a virtual camera")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="close the window after this many seconds")
    parser.add_argument("--screenshot", metavar="PATH", help="save a grab of the window just before it closes")
    settings.add_arguments(parser.add_argument_group("settings (default: as last saved by the window)"), settings.LIVE)


def defaults() -> argparse.Namespace:
    """The arguments of a plain `emocam`."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([])


MAX_DURATION_S = 2_000_000  # Qt timers count milliseconds in 32 bits


def check_arguments(args: argparse.Namespace) -> None:
    """Reject bad options with one clear line before any window opens."""
    from emocam.io import output_paths

    source = str(args.source)
    inputs = _check_source(source)
    if args.record:
        from emocam.live.recorder import check_record_path

        check_record_path(args.record, "--record")
    if args.duration is not None and not 0 < args.duration <= MAX_DURATION_S:
        raise EmocamError(f"--duration must be a positive number of seconds up to {MAX_DURATION_S}, got {args.duration}")
    if args.screenshot:
        shot = Path(args.screenshot)
        if shot.suffix.lower() not in SCREENSHOT_SUFFIXES:
            raise EmocamError(f"--screenshot must end in {', '.join(SCREENSHOT_SUFFIXES)}, got {shot.name}")
        if not shot.parent.resolve().is_dir():
            raise EmocamError(f"--screenshot: folder {shot.parent} does not exist")
    written = [(role, Path(path)) for role, path in (("--record", args.record), ("--screenshot", args.screenshot)) if path]
    for role, path in written:  # never a device, a folder, an input or each other; in a writable folder
        output_paths.check_name(path, role)
        output_paths.check_target(path, role)
        output_paths.probe_folder(output_paths.writable_parent(path))
    output_paths.check_distinct(inputs, written)
    if args.pack:
        from emocam.packs.registry import load_pack

        load_pack(args.pack)


def _check_source(source: str) -> list[Path]:
    """A camera that exists, or a file that opens as a video or image; returns the files read."""
    if source.isdigit():
        # camera 0, the default, opens the window even with no camera (it offers a file or the sample);
        # any other index must name a camera that is there (checked where the system lists them)
        if source != "0" and os.path.isdir("/dev") and sys.platform.startswith("linux") \
                and not os.path.exists(f"/dev/video{int(source)}"):
            from emocam.io.sources import list_cameras

            found = ", ".join(f"{index} ({name})" for index, name in list_cameras()) or "none"
            raise EmocamError(f"camera {int(source)} not found (cameras: {found})")
        return []
    from emocam.io.sources import open_source

    opened = open_source(source)  # refuses missing, special, text, damaged and too-small inputs in one line
    opened.close()
    return list(getattr(opened, "paths", [Path(source)]))


def live_settings(args: argparse.Namespace, config: settings.SettingsFile) -> settings.Settings:
    """The saved settings with the command line's over them (checked); what the command line gave is saved."""
    saved = config.load()
    if saved.emotion_model and not Path(saved.emotion_model).is_file():
        print(f"emocam: the saved emotion model {saved.emotion_model} is gone; using the default", file=sys.stderr)
        saved.emotion_model = ""
    chosen, given = settings.from_args(args, saved)
    if given:
        config.save(chosen)
    return chosen


def _forget_opencv_qt_plugins() -> None:
    """OpenCV's Qt build (brought by MediaPipe) points QT_QPA_PLATFORM_PLUGIN_PATH at its own Qt plugins when
    cv2 is imported; PySide6 cannot load those, so on a desktop the window would not open (xcb)."""
    path = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")
    if f"{os.sep}cv2{os.sep}" in path:
        del os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"]


def run(args: argparse.Namespace | None = None) -> int:
    """Open the live window and run until it is closed (or --duration passes). Returns the exit status."""
    args = args or defaults()
    check_arguments(args)
    config = settings.SettingsFile()
    chosen = live_settings(args, config)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from emocam.live.window import MainWindow

    _forget_opencv_qt_plugins()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("emocam")
    window = MainWindow(config, chosen, source=str(args.source), record_path=args.record, virtual_cam=args.virtual_cam)
    window.show()

    def close() -> None:
        shown = window.last_shown
        if shown is not None:  # what the HUD shows at the end of a timed run (benchmarks read this line)
            from emocam.runtime import ran_line

            timings = shown.result.timings if shown.result is not None else {}
            stages = " ".join(f"{name} {ms:.0f}" for name, ms in timings.items())
            print(f"emocam: HUD at close: {window.fps.fps():.1f} fps (source {window.source_fps:.0f}), latency "
                  f"{shown.latency_ms:.0f} ms; ran: {ran_line(window.devices)}; last frame ms: {stages}", flush=True)
        if args.screenshot:
            window.grab().save(str(args.screenshot))
            print(f"emocam: screenshot saved to {args.screenshot}", flush=True)
        window.close()

    if args.duration:
        QTimer.singleShot(int(args.duration * 1000), close)
    # Ctrl-C / SIGTERM close the window cleanly; the timer lets Python run its signal handlers.
    previous = {sig: signal.signal(sig, lambda *_: QTimer.singleShot(0, window.close))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)
    try:
        app.exec()
    finally:
        ticker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if window.isVisible():
            window.close()
    return 0

