"""Runs one fuzz case and checks the promises every hostile input gets.

Exit 2 (or 0 for a valid input, with a correct output; 130/143 for a signal), exactly one line on stderr
that starts `emocam: error:`, no traceback, inputs unchanged (sha256), nothing under the final output
names after a failure, and no hang (a timeout).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
FAIL, OK, EITHER = "fail", "ok", "either"


@dataclass
class Setup:
    """What a case built: the command line and what to check afterwards."""

    argv: list[str]
    inputs: list[Path]
    outputs: list[Path] = field(default_factory=list)  # final names: absent after a failure, present after success
    expect: str = FAIL
    message: str = ""  # a piece of the error line
    check: Callable[[], None] | None = None  # more checks on a success
    on_failure: Callable[[str], None] | None = None  # more checks on a failure, given the error line
    code: int = 2  # the exit status of a failure
    subprocess: bool = False
    stop: tuple[int, float] | None = None  # (signal, seconds after start) for subprocess cases
    limit_file_bytes: int | None = None  # RLIMIT_FSIZE in the child: a disk that fills up mid-render
    program: list[str] | None = None  # a tools/ module instead of emocam
    prefix: str = "emocam: error: "  # how the one error line starts (tools/ print `error: ...`)


@dataclass
class Case:
    name: str
    category: str
    build: Callable[[Path], Setup]
    fast: bool = False

    @property
    def id(self) -> str:
        return f"{self.category}-{self.name}"


def case_registry() -> tuple[list[Case], Callable]:
    """A module's list of cases and the `@case(category, name, fast=False)` decorator that fills it."""
    cases: list[Case] = []

    def case(category: str, name: str, fast: bool = False):
        def register(build):
            cases.append(Case(name, category, build, fast))
            return build
        return register

    return cases, case


def digest(path: Path) -> str:
    """sha256 of a file, of every file in a folder, or a marker for special files and absent paths."""
    if not os.path.lexists(path):
        return "absent"
    if os.path.islink(path) and not os.path.exists(path):
        return "dangling:" + os.readlink(path)
    if os.path.isdir(path):
        return "|".join(f"{p.name}:{digest(p)}" for p in sorted(Path(path).iterdir()))
    if not Path(path).is_file():
        return "special"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class _Timeout(BaseException):
    """Not an Exception: emocam's own catch-all must not swallow it."""


def run_in_process(argv: list[str], timeout: float = TIMEOUT_S) -> tuple[int, str, str]:
    from emocam.cli import main

    def expire(*_):
        raise _Timeout()

    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except _Timeout:
        raise AssertionError(f"hung for more than {timeout} s: emocam {' '.join(argv)}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


def run_subprocess(setup: Setup, cwd: Path, timeout: float = TIMEOUT_S) -> tuple[int, str, str]:
    command = [sys.executable, "-m", *(setup.program or ["emocam"]), *setup.argv]
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}

    def limits() -> None:
        if setup.limit_file_bytes:
            import resource

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (setup.limit_file_bytes, setup.limit_file_bytes))

    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=limits)
    try:
        if setup.stop:
            sig, delay = setup.stop
            _wait_for_signal_handlers(process.pid)
            time.sleep(delay)
            process.send_signal(sig)
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"hung for more than {timeout} s: {' '.join(command)}") from None
    return process.returncode, out, err


def _wait_for_signal_handlers(pid: int, timeout: float = 30.0) -> None:
    """Wait until emocam has installed its SIGTERM handler (Linux: SigCgt in /proc/PID/status). Before that
    Python itself is still starting, where no program can handle a signal (a documented limit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        caught = next((int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:")), 0)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)


def check_case(case: Case, tmp_path: Path) -> None:
    """Build the case in `tmp_path`, run it, and check every promise."""
    setup = case.build(tmp_path)
    before = {path: digest(path) for path in setup.inputs}
    existed = {path: os.path.lexists(path) for path in setup.outputs}
    if setup.subprocess or setup.stop or setup.limit_file_bytes or setup.program:
        code, out, err = run_subprocess(setup, tmp_path)
    else:
        code, out, err = run_in_process(setup.argv)
    shown = f"exit {code}\nstderr: {err!r}\nstdout: {out[-300:]!r}"
    assert "Traceback" not in err and "Traceback" not in out, shown
    lines = err.strip().splitlines()
    if code == 0:
        assert setup.expect in (OK, EITHER), f"a hostile input was accepted\n{shown}"
        assert not lines, f"a success must keep stderr empty\n{shown}"
        for path in setup.outputs:
            assert os.path.exists(path), f"{path} missing after success\n{shown}"
        if setup.check:
            setup.check()
    else:
        assert setup.expect in (FAIL, EITHER), f"a valid input was refused\n{shown}"
        assert code == setup.code, shown
        assert len(lines) == 1 and lines[0].startswith(setup.prefix), f"not one error line\n{shown}"
        assert setup.message.lower() in lines[0].lower(), f"expected {setup.message!r}\n{shown}"
        for path in setup.outputs:
            if not existed[path]:
                assert not os.path.lexists(path), f"{path} exists after a failure\n{shown}"
        if setup.on_failure:
            setup.on_failure(lines[0])
    for path, value in before.items():
        assert digest(path) == value, f"input {path} changed\n{shown}"
