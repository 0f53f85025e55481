"""The video sink: crash-safe fragments at least every second, even at uneven live frame times; a batch
chunk's lookahead frames."""
from __future__ import annotations

import av
import numpy as np
import pytest

from emocam.io.sinks import ENCODER_LOOKAHEAD, VideoSink


@pytest.mark.parametrize("fps", [1.5, 30.0])
def test_uneven_times_are_kept_and_keyframes_come_every_second(fps, tmp_path):
    path = tmp_path / "live.mp4"
    sink = VideoSink(path, (64, 48), fps, low_latency=True)
    t, times = 0.0, []
    for i in range(40):
        sink.encode(np.full((48, 64, 3), i * 5, np.uint8), t)
        times.append(t)
        t += (0.1, 0.05, 0.7, 0.2)[i % 4]
    sink.close()
    with av.open(str(path)) as container:
        frames = [(float(f.time), f.key_frame) for f in container.decode(video=0)]
    np.testing.assert_allclose([t for t, _ in frames], times, atol=1e-3)
    keys = [t for t, key in frames if key]
    assert keys[0] == 0.0 and max(np.diff(keys)) <= 1.0 + 0.7 + 1e-6  # never more than a second plus one gap


def test_odd_sizes_are_padded_to_even_never_resized(tmp_path):
    image = np.zeros((49, 65, 3), np.uint8)
    image[:, -1] = 255  # the last column is white: the padding column repeats it
    sink = VideoSink(tmp_path / "odd.mp4", (65, 49), 25)
    sink.encode(image)
    sink.close()
    assert sink.padded
    with av.open(str(tmp_path / "odd.mp4")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.shape == (50, 66, 3)
    assert frame[:, -2:].mean() > 200 and frame[:, :60].mean() < 30  # edge repeated, picture not rescaled


def _decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_lookahead_frames_shape_the_last_frames_and_are_never_written(sample_clip, tmp_path):
    """A batch chunk's end: the frames after it go to the encoder's lookahead only, so the chunk's last frames
    are encoded exactly as in one long file (x264's macroblock tree looks ENCODER_LOOKAHEAD frames ahead)."""
    with av.open(str(sample_clip)) as container:
        real = [(f.to_ndarray(format="rgb24"), float(f.time)) for _, f in zip(range(40), container.decode(video=0))]
    kept, size = 30, (real[0][0].shape[1], real[0][0].shape[0])

    def write(name: str, frames: int, lookahead: int):
        sink = VideoSink(tmp_path / name, size, 30)
        for image, time in real[:frames]:
            sink.encode(image, time)
        for image, time in real[frames:frames + lookahead]:
            sink.lookahead(image, time)
        sink.close()
        assert sink.frames_written == frames
        return _decoded(tmp_path / name)

    whole = write("whole.mp4", len(real), 0)
    chunk = write("chunk.mp4", kept, ENCODER_LOOKAHEAD)
    cut = write("cut.mp4", kept, 0)
    assert len(chunk) == len(cut) == kept
    assert all(np.array_equal(a, b) for a, b in zip(chunk, whole))
    # without the lookahead the last frames come out otherwise: the clip exercises what is tested
    assert not all(np.array_equal(a, b) for a, b in zip(cut, whole))
    sink = VideoSink(tmp_path / "bad.mp4", size, 30)
    sink.lookahead(real[0][0], 0.0)
    with pytest.raises(ValueError):  # nothing is written after a lookahead-only frame
        sink.encode(real[1][0], real[1][1])
    sink.close()
