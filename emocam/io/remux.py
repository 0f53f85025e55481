"""Turn a finished fragmented MP4 into a regular one with its index at the front (a stream copy).

Renders and recordings are written fragmented so a crash leaves a playable file; but browsers and many
editors read a fragmented file's duration from its (empty) first index and show a second or two. Once the
file is complete it is copied packet for packet into a regular MP4 (`movflags +faststart`: the index moves
to the front, so a browser can play before it has the whole file), as OBS remuxes its recordings. The copy
goes to a new hidden file and takes the final name only when it is complete and checked, so a failed
remux never loses the fragmented file nor replaces anything.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import av

from emocam.errors import EmocamError
from emocam.io.sinks import FRAGMENTED_SUFFIXES as REMUX_SUFFIXES  # what VideoSink writes fragmented

# A regular MP4 whose index (moov) is moved to the front when the file is closed; copied audio priming
# (negative pts) stays where it was, as in the fragmented file.
REGULAR = {"movflags": "+faststart", "avoid_negative_ts": "disabled"}


class RemuxError(EmocamError):
    """The remux failed; the fragmented file is still where it was."""


def remux_to_regular(fragmented: Path, final: Path, audio_start: int | None = None) -> int:
    """Copy `fragmented` into a regular MP4 at `final` and remove `fragmented`; returns packets copied.

    On any failure raises RemuxError (one line) and leaves `fragmented` as it was and `final` untouched. The copy
    is written to a new hidden file beside `final` (`.NAME.XXXX.remux.mp4`, created exclusively, so it never
    replaces or writes through anything already there). `audio_start`: where the audio really starts (the pts its
    writer gave the first audio packet): a fragmented file cannot hold audio priming before 0 and reads it back
    from 0, 23 ms late for AAC; the copy puts it back where it was."""
    fragmented, final = Path(fragmented), Path(final)
    scratch: Path | None = None
    try:
        handle, name = tempfile.mkstemp(prefix=f".{final.stem[:120]}.", suffix=f".remux{final.suffix}", dir=final.parent)
        os.close(handle)
        scratch = Path(name)
        copied, counts = _copy(fragmented, scratch, audio_start)
        _check(scratch, copied, counts)
        os.replace(scratch, final)
    except (av.FFmpegError, OSError, EmocamError, ValueError) as exc:
        if scratch is not None:
            try:
                scratch.unlink(missing_ok=True)
            except OSError:
                pass
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise RemuxError(f"could not make {final.name} a regular MP4 ({reason}); "
                         f"the complete fragmented video is kept in {fragmented}") from None
    if fragmented != final:
        fragmented.unlink(missing_ok=True)
    return copied


def _copy(source: Path, target: Path, audio_start: int | None = None) -> tuple[int, list[int]]:
    """Every packet of every audio and video stream, in file order; returns the total and each stream's count.
    The audio moves to start at `audio_start` when given."""
    with av.open(str(source)) as inp:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        if not any(s.type == "video" for s in streams):
            raise EmocamError(f"{source.name} has no video stream")
        with av.open(str(target), "w", format="mov" if target.suffix.lower() == ".mov" else "mp4",
                     options=dict(REGULAR)) as out:
            order = {stream.index: n for n, stream in enumerate(streams)}
            copies = []
            for stream in streams:
                copy = out.add_stream_from_template(stream)
                copy.time_base = stream.time_base
                copies.append(copy)
            counts = [0] * len(streams)
            shift: int | None = None
            for packet in inp.demux(streams):
                if packet.dts is None or packet.size == 0:
                    continue  # the demuxer's end-of-stream markers
                if packet.stream.type == "audio" and audio_start is not None:
                    shift = audio_start - packet.pts if shift is None else shift
                    packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                n = order[packet.stream.index]
                packet.stream = copies[n]
                out.mux(packet)
                counts[n] += 1
    return sum(counts), counts


def _check(path: Path, copied: int, counts: list[int]) -> None:
    """The regular file's index must list every packet copied, stream by stream, and give a duration."""
    with av.open(str(path)) as result:
        found = [s.frames for s in result.streams if s.type in ("video", "audio")]
        if found != counts:
            raise EmocamError(f"the copy's index lists {found} packets per stream, expected {counts}")
        if copied and not result.duration:
            raise EmocamError("the copy has no duration")
