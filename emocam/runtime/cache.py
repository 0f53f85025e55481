"""Models prepared once, on disk, per model sha256: safe to delete, never stale.

Each backend gets a prepared ONNX (free image axes declared where a stage asks for them; for onnxruntime also
the spelled-out instance norms folded, which OpenVINO runs slower than the spelled-out ops) written once under
the user cache folder, named by the source file's sha256 and the preparation; for OpenVINO the norms' statistics
come from a sample at large sizes (modelstore/onnx_norm_stats.py); onnxruntime adds its optimised
graph and OpenVINO its compiled blobs beside it, keyed by device and precision too. A changed model file has
another sha256, so it never meets an old entry; deleting the folder only costs the next start its preparation
again.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import os
import shutil
import struct
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from emocam.modelstore.manifest import sha256_file
from emocam.modelstore.onnx_dims import free_axes
from emocam.modelstore.onnx_norm_stats import sample_norm_statistics
from emocam.modelstore.onnx_norms import fold_instance_norms

CACHE_ENV = "EMOCAM_CACHE_DIR"
FORMAT = 1  # bump when a preparation changes its output for the same input


def cache_root() -> Path:
    """$EMOCAM_CACHE_DIR, else the platform's user cache folder (~/.cache/emocam on Linux)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root)
    import platformdirs

    return Path(platformdirs.user_cache_dir("emocam", appauthor=False))


def model_dir(path: Path) -> Path:
    """The cache folder of one model file: named by its sha256 (first 16 hex digits)."""
    return cache_root() / "models" / sha256_file(path)[:16]


_IN_PROCESS = threading.RLock()
_held = threading.local()  # this thread's depth of `loading` (a load compiles inside its own lock)


@contextlib.contextmanager
def loading(path: Path) -> Iterator[None]:
    """Held while a backend loads `path`: one load at a time in the process, and per model across processes.

    The backends write their own cache entries in place (OpenVINO's compiled blob, onnxruntime's optimised
    graph): a process that mapped a half-written blob died of SIGBUS when several started at once, and two
    threads compiling at once deadlocked inside OpenVINO's bindings. Loads after the first are cache hits, so
    waiting costs little. Without a writable cache folder there is nothing to guard across processes."""
    with _IN_PROCESS:
        if getattr(_held, "depth", 0):  # already held by this thread: a second flock would wait on itself
            yield
            return
        try:
            folder = model_dir(Path(path))
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / ".lock", "a+b")
        except OSError:
            yield
            return
        with handle:
            _lock_file(handle, True)
            _held.depth = 1
            try:
                yield
            finally:
                _held.depth = 0
                _lock_file(handle, False)


def _lock_file(handle, lock: bool) -> None:
    """An exclusive advisory lock on an open file (flock on POSIX, msvcrt on Windows)."""
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if lock else fcntl.LOCK_UN)
    except ImportError:
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if lock else msvcrt.LK_UNLCK, 1)


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` through a renamed temporary file; False (nothing written) when the folder is not
    writable: the cache is an optimisation, a read-only cache only costs time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        if "tmp" in locals():
            Path(tmp).unlink(missing_ok=True)
        return False


def prepared(path: Path, axes: dict[str, dict[int, str]] | None = None, fold_norms: bool = True,
             sample_stats: bool = False) -> Path:
    """The prepared ONNX for `path`: norms folded (unless `fold_norms` is False), their statistics sampled (if
    `sample_stats`), `axes` freed (value -> {axis: symbol}); made once.

    Returns `path` itself when nothing changes or the file is not a readable ONNX protobuf (then the backend's
    own error is the one reported); a cache that cannot be written falls back to a temporary file per load."""
    path = Path(path)
    recipe = [FORMAT, axes or {}] if fold_norms else [FORMAT, axes or {}, "unfolded"]  # old tags stay valid
    if sample_stats:
        recipe.append("sampled statistics")
    tag = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]
    target = model_dir(path) / f"prepared-{tag}.onnx"
    if target.is_file():
        return target
    try:
        data = path.read_bytes()
        changed = False
        if axes:
            data, changed = free_axes(data, axes), True
        folded, count = fold_instance_norms(data) if fold_norms else (data, 0)
        if sample_stats:
            folded, sampled = sample_norm_statistics(folded)
            count += sampled
    except (OSError, ValueError, IndexError, struct.error):  # ValueError covers a bad UTF-8 name too
        if axes:
            raise
        return path
    if not (count or changed):
        return path
    if write_atomic(target, folded):
        return target
    fd, tmp = tempfile.mkstemp(prefix="emocam-", suffix=".onnx", dir=_scratch())  # unwritable cache: a throwaway
    with os.fdopen(fd, "wb") as handle:
        handle.write(folded)
    return Path(tmp)


@functools.lru_cache(maxsize=1)
def _scratch() -> str:
    """A temporary folder for this process's throwaway prepared models, removed at exit."""
    folder = tempfile.mkdtemp(prefix="emocam-models-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
