"""The source's audio in an output file: copied packet for packet, or re-encoded to AAC where MP4 cannot hold it.

Used by a single render's VideoSink and by a batch's join, so both treat every codec and every damaged
packet the same way.
"""
from __future__ import annotations

from fractions import Fraction

import av

from emocam.io.skipped import SkippedPackets, decode_packet

# Audio codecs a fragmented MP4 takes packet for packet; anything else (PCM, and AC-3/E-AC-3, which the
# MP4 muxer cannot place before its first fragment) is re-encoded to AAC.
MP4_AUDIO = {"aac", "mp3", "opus", "alac", "flac"}
AAC_RATES = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}


class AudioTrack:
    """One audio stream of an output container, fed with the source's packets."""

    def __init__(self, container: av.container.OutputContainer, audio_in: av.audio.stream.AudioStream,
                 mp4: bool, skipped: SkippedPackets | None = None) -> None:
        self.skipped = skipped if skipped is not None else SkippedPackets()
        self.packets_in = 0
        codec = getattr(audio_in.codec_context.codec, "canonical_name", audio_in.codec_context.name)  # mp3float -> mp3
        self.resampler: av.AudioResampler | None = None
        if not mp4 or codec in MP4_AUDIO:
            self.stream = container.add_stream_from_template(audio_in)
        else:  # e.g. PCM or AC-3 in an AVI: MP4 cannot carry it packet for packet, so it is re-encoded to AAC
            rate = audio_in.codec_context.sample_rate
            rate = rate if rate in AAC_RATES else 48000  # e.g. 192 kHz PCM: AAC stops at 96 kHz
            self.stream = container.add_stream("aac", rate=rate)
            self.resampler = av.AudioResampler(format="fltp", layout=audio_in.codec_context.layout, rate=rate)
        self.note = f"{audio_in.codec_context.name} re-encoded to AAC" if self.resampler else "copied"
        self._next_sample: int | None = None
        self.first_pts: int | None = None  # where the audio starts (priming can be negative): a remux keeps it

    def packets(self, packet: av.Packet) -> list[av.Packet]:
        """What to mux for one source packet; a packet that does not decode is skipped and counted."""
        self.packets_in += 1
        if self.resampler is None:
            packet.stream = self.stream
            out = [packet]
        else:
            out = [out for frame in decode_packet(packet, self.skipped)
                   for resampled in self.resampler.resample(frame)
                   for out in self.stream.encode(self._count_samples(resampled))]
        if self.first_pts is None and out and out[0].pts is not None:
            self.first_pts = int(out[0].pts)
        return out

    def flush(self) -> list[av.Packet]:
        """The encoder's last packets (nothing when copying)."""
        return list(self.stream.encode()) if self.resampler is not None else []

    def _count_samples(self, frame: av.AudioFrame) -> av.AudioFrame:
        """Re-encoded audio gets gapless timestamps from its sample count (decoders' own may repeat or jump),
        starting where the source's first audio frame starts so the sound stays in sync."""
        rate = frame.sample_rate
        if self._next_sample is None:
            self._next_sample = int(round(float(frame.time or 0.0) * rate))
        frame.pts, frame.time_base = self._next_sample, Fraction(1, rate)
        self._next_sample += frame.samples
        return frame

    @property
    def all_damaged(self) -> bool:
        """Every packet that came was refused: the stream gave nothing usable."""
        return self.packets_in > 0 and self.skipped.audio >= self.packets_in
