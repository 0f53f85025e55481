"""The batch journal: what is finished, so a re-run redoes only what is missing.

It lives in the output folder (`.emocam-batch/journal.json`, with the finished chunk files beside it).
Only the driver writes it, after every finished chunk or file, by writing a temporary file and renaming
it over the old one: Ctrl-C, a crash or `kill -9` at any moment leaves either the old or the new
journal, never half of one. A finished file or chunk counts only while its frame count and sha256 still
match what the journal recorded; anything else is rendered again.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import av

from emocam.errors import EmocamError

FOLDER = ".emocam-batch"
VERSION = 1


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_frames(path: Path) -> int:
    """Video packets in a file (one per frame), counted without decoding; -1 when it cannot be read."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.FFmpegError, OSError, IndexError):
        return -1


def intact(path: Path, frames: int | None, digest: str | None) -> bool:
    """The file exists with the frame count and checksum recorded for it."""
    return (frames is not None and digest is not None and path.is_file()
            and count_frames(path) == frames and sha256(path) == digest)


class Journal:
    """Per output name: the input, a fingerprint of what makes the output, status and finished chunks."""

    def __init__(self, outdir: Path) -> None:
        self.folder = Path(outdir) / FOLDER
        self.path = self.folder / "journal.json"
        self.files: dict[str, dict] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == VERSION and isinstance(data.get("files"), dict):
                self.files = data["files"]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError):
            self._set_aside()

    def _set_aside(self) -> None:
        """A journal that cannot be read is kept under another name and the batch starts over."""
        try:
            os.replace(self.path, self.path.with_name(f"journal.unreadable-{int(time.time())}.json"))
        except OSError as exc:
            raise EmocamError(f"cannot read or move aside {self.path}: {exc.strerror}") from None

    def chunk_folder(self, name: str) -> Path:
        return self.folder / name

    def chunk_path(self, name: str, index: int, suffix: str = ".mp4") -> Path:
        return self.chunk_folder(name) / f"chunk-{index:05d}{suffix}"

    def start(self, name: str, source: str, output_key: str, chunk_key: str) -> dict:
        """The entry for `name`: a new one when the input or a setting changed (`output_key`); its
        finished chunks are dropped when the chunking changed (`chunk_key`)."""
        entry = self.files.get(name)
        if not entry or entry.get("output_key") != output_key:
            entry = {"input": source, "output_key": output_key, "status": "pending", "chunks": {}}
            self.files[name] = entry
        if entry.get("chunk_key") != chunk_key:
            entry.update(chunk_key=chunk_key, chunks={})
        return entry

    def owns(self, name: str) -> bool:
        """Whether this batch wrote (or is writing) the output `name`."""
        return name in self.files

    def chunk_done(self, name: str, index: int, frames: int, digest: str, skipped_video: int = 0) -> None:
        self.files[name]["chunks"][str(index)] = {"frames": frames, "sha256": digest, "skipped_video": skipped_video}
        self.save()

    def skipped_video(self, name: str) -> int:
        """Damaged video packets left out of the file's finished chunks."""
        return sum(c.get("skipped_video", 0) for c in self.files[name]["chunks"].values())

    def finished_chunk(self, name: str, index: int) -> bool:
        """A chunk recorded as done whose file is still intact."""
        record = self.files[name]["chunks"].get(str(index))
        return bool(record) and intact(self.chunk_path(name, index), record["frames"], record["sha256"])

    def file_done(self, name: str, frames: int, digest: str, seconds: float) -> None:
        self.files[name].update(status="done", frames=frames, sha256=digest, seconds=seconds, chunks={})
        self.save()

    def file_failed(self, name: str, error: str) -> None:
        self.files[name].update(status="failed", error=error)
        self.save()

    def finished_file(self, name: str, output: Path, output_key: str) -> bool:
        """Rendered from this input with these settings, and the file is still as it was written."""
        entry = self.files.get(name) or {}
        return (entry.get("status") == "done" and entry.get("output_key") == output_key
                and intact(output, entry.get("frames"), entry.get("sha256")))

    def save(self) -> None:
        """Atomically: a temporary file, flushed to disk, renamed over the journal."""
        self.folder.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(".json.tmp")
        with open(scratch, "w", encoding="utf-8") as file:
            json.dump({"version": VERSION, "files": self.files}, file, indent=1)
            file.flush()
            os.fsync(file.fileno())
        os.replace(scratch, self.path)
