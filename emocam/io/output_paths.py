"""Output-path safety for every command that writes files.

The promise: an output, its `.partial` scratch file and the `--json` file are never an input, never
each other (by name, symlink, hard link or the same inode), never a device, FIFO or folder, and always
in a folder we have just proved writable. Everything that can be checked is checked before the first
frame; a write that fails later is reported as an output problem in one line, never as success.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from emocam.errors import EmocamError

NAME_MAX_FALLBACK = 255  # bytes in one path component on common Linux/macOS file systems
PATH_MAX = 4096
MIN_FREE_BYTES = 1 << 20  # a folder with less free space than this is refused before any work


@dataclass(frozen=True)
class OutputPlan:
    """The files one run writes: the final names, and where each is written until it is complete."""

    output: Path
    partial: Path | None  # a video is written here, renamed to `output` only when complete
    json: Path | None
    json_partial: Path | None


def partial_path(output: Path) -> Path:
    """Where a video is written while it renders: a playable file, renamed to `output` only when complete."""
    return output.with_name(f"{output.stem}.partial{output.suffix}")


def json_partial_path(json_path: Path) -> Path:
    """Where the per-frame records are written until the render completes."""
    return json_path.with_name(f"{json_path.name}.partial")


def scratch_path(final: Path) -> Path:
    """A hidden sibling with the same suffix (image writers pick the format by suffix) for write-then-rename."""
    return final.with_name(f".{final.stem}.partial{final.suffix}")


def plan_outputs(inputs: Sequence[Path], output: Path, json_path: Path | None = None, *,
                 video: bool = True, folder: bool = False) -> OutputPlan:
    """Check every path this run will write and return them; raise EmocamError (one line) on any problem.

    `inputs` are all files read (every image of an input folder); `folder` means `output` is a folder
    of images; `video` means `output` is written through a `.partial` file.
    """
    plan = OutputPlan(
        output=Path(output),
        partial=partial_path(Path(output)) if video and not folder else None,
        json=Path(json_path) if json_path else None,
        json_partial=json_partial_path(Path(json_path)) if json_path else None,
    )
    roles = [("output", plan.output, folder), ("partial file", plan.partial, False),
             ("--json", plan.json, False), ("--json partial file", plan.json_partial, False)]
    roles = [(role, path, is_folder) for role, path, is_folder in roles if path is not None]
    for role, path, is_folder in roles:
        check_name(path, role)
        check_target(path, role, folder=is_folder)
    check_distinct(inputs, [(role, path) for role, path, _ in roles])
    if folder:
        check_not_holding_inputs(plan.output, inputs)
    for parent in dict.fromkeys(writable_parent(path, is_folder) for _, path, is_folder in roles):
        probe_folder(parent)
    return plan


def image_output_names(paths: Sequence[Path]) -> dict[Path, str]:
    """The PNG name each input image gets in an output folder: `a.png` from `a.jpg`, but when two inputs
    share a stem (`a.jpg` and `a.png`) both keep their suffix (`a.jpg.png`, `a.png.png`) so none is lost."""
    stems: dict[str, int] = {}
    for path in paths:
        stems[path.stem.lower()] = stems.get(path.stem.lower(), 0) + 1
    names = {path: f"{path.name}.png" if stems[path.stem.lower()] > 1 else f"{path.stem}.png" for path in paths}
    if len({name.lower() for name in names.values()}) < len(names):  # `a.jpg.png` beside `a.jpg` and `a.png`
        names = {path: f"{index:06d}_{path.name}.png" for index, path in enumerate(paths)}
    return names


def check_name(path: Path, role: str) -> None:
    """Refuse names the file system cannot hold (a component over NAME_MAX bytes, a path over PATH_MAX)."""
    full = os.fsencode(os.path.abspath(path))
    if len(full) >= PATH_MAX:
        raise EmocamError(f"{role} path is too long ({len(full)} bytes; the limit is {PATH_MAX - 1})")
    limit = _name_max(path)
    for part in Path(os.path.abspath(path)).parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise EmocamError(f"{role} name is too long ({size} bytes; this file system allows {limit}): {_short(part)}")


def check_target(path: Path, role: str, folder: bool = False) -> None:
    """What already sits at `path` must be replaceable: a regular file (or, for a folder output, a folder)."""
    if not os.path.lexists(path):
        return
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return  # a dangling symlink: it is replaced, never written through
    except OSError as exc:
        raise EmocamError(f"cannot use {path} as {role}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        if not folder:
            raise EmocamError(f"{role} {path} is an existing folder; give a file name")
    elif folder:
        raise EmocamError(f"{role} {path} is an existing file; an image folder renders into a folder")
    elif not stat.S_ISREG(mode):
        raise EmocamError(f"{role} {path} is a device, FIFO or socket, not a regular file")


def check_distinct(inputs: Iterable[Path], outputs: Sequence[tuple[str, Path]]) -> None:
    """No output may be an input or another output, whatever names, symlinks or hard links say."""
    seen_inputs = {}
    for path in inputs:
        for key in _identities(path):
            seen_inputs.setdefault(key, path)
    seen_outputs: dict[object, str] = {}
    for role, path in outputs:
        for key in _identities(path):
            if key in seen_inputs:
                raise EmocamError(f"{role} {path} is the input {seen_inputs[key]}: it would be overwritten")
            if key in seen_outputs and seen_outputs[key] != role:
                raise EmocamError(f"{role} {path} is the same file as the {seen_outputs[key]}; give them different names")
            seen_outputs.setdefault(key, role)


def check_not_holding_inputs(folder: Path, inputs: Iterable[Path]) -> None:
    """An output folder must not be the folder the input images are in (results would replace them)."""
    target = os.path.realpath(folder)
    for path in inputs:
        if os.path.dirname(os.path.realpath(path)) == target:
            raise EmocamError(f"output folder {folder} holds the input images; choose another folder")


def writable_parent(path: Path, folder: bool = False) -> Path:
    """The folder that must be writable for `path` to be created (a folder output's own parent if missing)."""
    if folder and os.path.isdir(path):
        return Path(path)
    return Path(path).parent if str(Path(path).parent) else Path(".")


def probe_folder(folder: Path) -> None:
    """Prove `folder` takes a new file (catches missing, read-only, special and full folders early)."""
    if not os.path.exists(folder):
        raise EmocamError(f"cannot write to {folder}: the folder does not exist")
    if not os.path.isdir(folder):
        raise EmocamError(f"cannot write to {folder}: not a writable folder")
    try:
        handle, probe = tempfile.mkstemp(prefix=".emocam-", suffix=".probe", dir=folder)
    except OSError as exc:
        raise EmocamError(f"cannot write to {folder}: not a writable folder ({exc.strerror})") from None
    try:
        os.write(handle, b"emocam")
    except OSError as exc:
        raise EmocamError(f"cannot write to {folder}: {exc.strerror}") from None
    finally:
        os.close(handle)
        os.unlink(probe)
    try:
        free = os.statvfs(folder)
    except OSError:
        return
    if free.f_bavail * free.f_frsize < MIN_FREE_BYTES and free.f_blocks:
        raise EmocamError(f"cannot write to {folder}: less than 1 MB of free space")


def clear_scratch(path: Path) -> None:
    """Remove a leftover scratch file so a new one is created, never written through a symlink or hard link."""
    try:
        if os.path.lexists(path) and not os.path.isdir(path):
            os.unlink(path)
    except OSError as exc:
        raise EmocamError(f"cannot replace {path}: {exc.strerror}") from None


def finish(scratch: Path, final: Path) -> None:
    """Give a complete file its final name (atomic on one file system)."""
    try:
        os.replace(scratch, final)
    except OSError as exc:
        raise EmocamError(f"cannot rename {scratch} to {final}: {exc.strerror}") from None


def write_failure(path: Path, exc: BaseException) -> EmocamError:
    """One line for a write that failed part-way: always an output problem, never a damaged input."""
    code = getattr(exc, "errno", None)
    reasons = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EFBIG: "file too large for the file system",
        errno.EROFS: "the file system is read-only",
        errno.EIO: "input/output error on the device",
        errno.EACCES: "permission denied",
    }
    reason = reasons.get(code) or getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return EmocamError(f"writing {path} failed: {reason}")


def _identities(path: Path) -> list[object]:
    """Keys that are equal for two paths naming the same file: the resolved name, and (device, inode)."""
    keys: list[object] = [os.path.realpath(path)]
    try:
        info = os.stat(path)
        keys.append((info.st_dev, info.st_ino))
    except OSError:
        pass
    return keys


def _name_max(path: Path) -> int:
    existing = Path(os.path.abspath(path))
    while not os.path.exists(existing) and existing != existing.parent:
        existing = existing.parent
    try:
        return int(os.pathconf(existing if os.path.isdir(existing) else existing.parent, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return NAME_MAX_FALLBACK


def _short(name: str, keep: int = 40) -> str:
    return name if len(name) <= keep else f"{name[:keep]}..."
