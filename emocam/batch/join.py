"""Joining chunk files into one video without re-encoding, with the source's audio added once.

Every chunk is H.264 that starts on a keyframe, made by the same encoder settings, so its packets can
follow the previous chunk's packets in one stream. The muxer starts each chunk file at time 0; its
packets are moved back to the chunk's place in the source (`start_pts`). The audio is copied packet for
packet from the source for the whole file (re-encoded to AAC where MP4 cannot carry it), as a single
render does (`AudioTrack`), so chunk joins never touch it. The joined MP4 is a finished file, so it is
written regular with its index at the front (`REGULAR`), as `emocam render` leaves its output (browsers
read a fragmented file's first fragment as its whole length).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import av

from emocam.errors import EmocamError
from emocam.io.output_paths import write_failure
from emocam.io.audio_track import AudioTrack
from emocam.io.remux import REGULAR, REMUX_SUFFIXES
from emocam.io.sinks import FRAGMENTED_SUFFIXES
from emocam.io.skipped import SkippedPackets
from emocam.io.sources import open_input


def join_chunks(source_path: Path, chunks: Sequence[tuple[Path, int]], output: Path,
                skipped: SkippedPackets | None = None) -> int:
    """Write `output` from the chunk files (each with the source pts of its first frame) and the source's
    audio (damaged audio packets are skipped and counted in `skipped`). Returns the number of video frames written."""
    source = open_input(source_path)
    opened = [open_input(path) for path, _ in chunks]
    options = REGULAR if output.suffix.lower() in REMUX_SUFFIXES else {}
    try:
        out = av.open(str(output), "w", options=dict(options))
    except (av.FFmpegError, OSError) as exc:
        for container in opened + [source]:
            container.close()
        raise write_failure(output, exc) from None
    try:
        first = opened[0].streams.video[0]
        for container in opened[1:]:
            if container.streams.video[0].codec_context.extradata != first.codec_context.extradata:
                raise EmocamError(f"chunks of {source_path} were encoded differently; delete the batch folder's "
                                  "chunks for it and render again")
        video_in = source.streams.video[0]
        video_out = out.add_stream_from_template(first)
        video_out.time_base = video_in.time_base
        audio_in = source.streams.audio[0] if source.streams.audio else None
        audio = AudioTrack(out, audio_in, output.suffix.lower() in FRAGMENTED_SUFFIXES, skipped) if audio_in else None
        packets = [_video_packets(c, start, video_out) for c, (_, start) in zip(opened, chunks)]
        frames = _interleave(out, [p for chunk in packets for p in chunk], source, audio_in, audio)
    except (av.FFmpegError, OSError) as exc:
        raise write_failure(output, exc) from None
    finally:
        try:
            out.close()
        finally:
            for container in opened + [source]:
                container.close()
    return frames


def _video_packets(container: av.container.InputContainer, start_pts: int, stream) -> list[av.Packet]:
    """The chunk's packets, moved to their place in the source's time base."""
    chunk_stream = container.streams.video[0]
    packets = [p for p in container.demux(chunk_stream) if p.size]
    if not packets:
        return []
    shift = start_pts - round(packets[0].pts * chunk_stream.time_base / stream.time_base)
    for packet in packets:
        pts = round(packet.pts * chunk_stream.time_base / stream.time_base) + shift
        dts = round(packet.dts * chunk_stream.time_base / stream.time_base) + shift
        packet.pts, packet.dts, packet.time_base = pts, dts, stream.time_base
    return packets


def _interleave(out, video_packets, source, audio_in, audio: AudioTrack | None) -> int:
    """Mux video and audio in time order (the muxer interleaves what arrives close together)."""
    video_out = out.streams.video[0]
    pending_audio = iter(p for p in source.demux(audio_in) if p.dts is not None) if audio is not None else iter(())
    pending = next(pending_audio, None)
    frames = 0
    for packet in video_packets:
        at = packet.dts * video_out.time_base
        while pending is not None and pending.dts * audio_in.time_base <= at:
            for encoded in audio.packets(pending):
                out.mux(encoded)
            pending = next(pending_audio, None)
        packet.stream = video_out
        out.mux(packet)
        frames += 1
    while pending is not None:
        for encoded in audio.packets(pending):
            out.mux(encoded)
        pending = next(pending_audio, None)
    for encoded in audio.flush() if audio is not None else []:
        out.mux(encoded)
    return frames
