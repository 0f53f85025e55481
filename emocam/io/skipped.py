"""Damaged packets, skipped as ffmpeg skips them: counted, reported, never fatal on their own.

A real file often has a packet its decoder refuses (a scratched disc, a cut download, a camera's
glitch). Players and ffmpeg drop that packet with a warning and go on; so does emocam. Only a stream
that yields nothing usable is an error, and that is the caller's to decide.
"""
from __future__ import annotations

from dataclasses import dataclass

import av


@dataclass
class SkippedPackets:
    """How many packets of each stream could not be decoded and were left out."""

    video: int = 0
    audio: int = 0

    def describe(self) -> str:
        """'2 audio packets skipped' style text, or '' when nothing was skipped."""
        parts = [f"{n} {kind} packet{'s' if n != 1 else ''}" for kind, n in (("video", self.video), ("audio", self.audio)) if n]
        return f"{' and '.join(parts)} skipped (damaged)" if parts else ""

    def as_record(self) -> dict[str, int]:
        return {"video": self.video, "audio": self.audio}

    def add(self, other: "SkippedPackets") -> None:
        self.video += other.video
        self.audio += other.audio


def decode_packet(packet: av.Packet, skipped: SkippedPackets) -> list:
    """The frames of one packet; a packet its decoder refuses counts as skipped and gives none."""
    try:
        return packet.decode()
    except av.FFmpegError:
        kind = packet.stream.type
        if kind == "video":
            skipped.video += 1
        elif kind == "audio":
            skipped.audio += 1
        return []
