"""The temporal engine on real pixels and the real style network (multistyle26 at a small processing size)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

import emocam.pipeline.temporal as temporal
from emocam.labels import EMOTIONS
from emocam.pipeline.style import Stylizer
from emocam.packs.registry import load_pack
from emocam.pipeline.temporal import MODES, TemporalParams, TemporalStyler
from rendezvous import Rendezvous
from tools.common.video_quality import FlickerReference, sharpness

PROCESS = 160  # small enough to keep the network fast on a 2-core CPU


@pytest.fixture(scope="module")
def stylize():
    """The default pack's network, neutral style, as a small-picture stylizer; counts its calls."""
    stylizer = Stylizer(load_pack("default"), "cpu")
    weights = np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index("neutral")]

    def run(small: np.ndarray) -> np.ndarray:
        run.calls += 1
        return stylizer.stylize(small, weights, None, 1.0)

    run.calls = 0
    return run


def _window(image: np.ndarray, x: float, y: float, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A size-d view of `image` with its top-left corner at (x, y), sub-pixel positions allowed."""
    matrix = np.array([[1, 0, -x], [0, 1, -y]], np.float32)
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _noisy_static(count: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """A still camera on the astronaut with sensor noise: the input barely changes, per-frame styling does."""
    rng = np.random.default_rng(0)
    base = cv2.resize(_window(skimage.data.astronaut(), 100, 40), size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return [np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def _run(mode: str, frames: list[np.ndarray], stylize, params: TemporalParams | None = None):
    engine = TemporalStyler(mode, params)
    results = [engine.process(f, stylize, PROCESS) for f in frames]
    return [r[0] for r in results], [r[1] for r in results]


def test_output_keeps_input_size_in_every_mode(stylize):
    frame = skimage.data.astronaut()[:250, :333]
    for mode in MODES:
        out, info = TemporalStyler(mode).process(frame, stylize, PROCESS)
        assert out.shape == frame.shape and out.dtype == np.uint8, mode
        assert info["keyframe"] and not (out == frame).all()


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="temporal mode"):
        TemporalStyler("smooth")


def test_static_scene_stays_stable(stylize):
    frames = _noisy_static(8, (PROCESS, PROCESS * 3 // 4))  # at the processing size: no upscaling, history only
    off, _ = _run("off", frames, stylize)
    stable, infos = _run("stable", frames, stylize)

    def change(outs: list[np.ndarray]) -> float:
        return float(np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(outs[3:], outs[4:])]))

    assert all(i["confident"] > 0.9 for i in infos[1:])
    assert change(stable) < 0.6 * change(off)


def test_scene_cut_resets_history_at_once(stylize):
    astronaut = _window(skimage.data.astronaut(), 100, 40)
    coffee = _window(skimage.data.coffee(), 150, 100)
    frames = [astronaut] * 4 + [coffee] * 2
    stable, infos = _run("stable", frames, stylize)
    per_frame, _ = _run("off", frames, stylize)  # the same network output and scaling, no history
    assert [i["reset"] for i in infos] == [True, False, False, False, True, False]
    assert np.array_equal(stable[4], per_frame[4])  # nothing of the astronaut is blended into the cut frame


def test_guided_upsampling_is_sharper_than_bilinear(stylize):
    frame = _window(skimage.data.astronaut(), 60, 20, (480, 360))
    off, _ = TemporalStyler("off").process(frame, stylize, PROCESS)
    guided, _ = TemporalStyler("guided").process(frame, stylize, PROCESS)
    assert sharpness([guided]) > 1.1 * sharpness([off])


def test_flicker_lower_than_off_on_a_pan(stylize):
    photo = skimage.data.astronaut()
    frames = [_window(photo, 60 + 2.3 * i, 40 + 0.7 * i) for i in range(10)]
    reference = FlickerReference(frames)
    off, _ = _run("off", frames, stylize)
    stable, _ = _run("stable", frames, stylize)
    for method in reference.methods:
        assert reference.ratio(stable, method) < 0.85 * reference.ratio(off, method), method


def test_no_ghost_where_a_head_passed(stylize):
    """A head crosses fast; once gone, the background is styled as if it had never been there. The naive blend
    (history trusted everywhere) shows what a trail looks like on the same frames."""
    background = _window(skimage.data.coffee(), 150, 100)
    head = cv2.resize(skimage.data.astronaut()[20:260, 130:340], (105, 120))
    frames = []
    for i in range(8):
        frame = background.copy()
        x = 20 + 40 * i
        if i < 5:
            frame[60:180, x:x + 105] = head[:, :max(0, min(105, 320 - x))]
        frames.append(frame)
    per_frame, _ = _run("off", frames, stylize)

    def trail(params: TemporalParams | None, mode: str = "stable") -> float:
        """Share of pixels far from the per-frame output in the frames after the head has gone (worst frame)."""
        outputs, _ = _run(mode, frames, stylize, params)
        return max(float((np.abs(s.astype(int) - g.astype(int)).max(-1) > 60).mean())
                   for s, g in zip(outputs[5:], per_frame[5:]))

    naive = trail(TemporalParams(sigma=1e9, cut_fraction=0.0, margin=0))
    assert naive > 0.05  # the trail is there to be seen when the history is trusted blindly
    assert trail(None) < min(0.012, 0.15 * naive)
    assert trail(None, "texture") < min(0.012, 0.15 * naive)


def test_keyframe_mode_skips_the_network_between_keyframes(stylize):
    frames = _noisy_static(7)
    stylize.calls = 0
    _, infos = _run("keyframe", frames, stylize, TemporalParams(keyframe_every=3))
    assert [i["keyframe"] for i in infos] == [True, False, False, True, False, False, True]
    assert stylize.calls == 3


def test_style_change_is_followed_without_lag_beyond_the_blend(stylize):
    """An emotion fade on a still scene: the stable output tracks the per-frame output within a few frames."""
    stylizer = Stylizer(load_pack("default"), "cpu")
    frame = _window(skimage.data.astronaut(), 100, 40)
    engine_stable, engine_off = TemporalStyler("stable"), TemporalStyler("off")
    gaps, total = [], []
    start, goal = EMOTIONS.index("neutral"), EMOTIONS.index("happy")
    for i in range(20):
        k = min(1.0, max(0.0, (i - 2) / 15))  # a 0.5 s fade at 30 fps
        weights = np.eye(7, dtype=np.float32)[start] * (1 - k) + np.eye(7, dtype=np.float32)[goal] * k
        run = lambda small, w=weights: stylizer.stylize(small, w, None, 1.0)  # noqa: E731
        s, _ = engine_stable.process(frame, run, PROCESS, style=stylizer.look(weights))
        g, _ = engine_off.process(frame, run, PROCESS)
        gaps.append(np.abs(s.astype(int) - g.astype(int)).mean())
        total.append(g)
    change = np.abs(total[-1].astype(int) - total[0].astype(int)).mean()
    assert change > 5  # the styles really differ
    assert max(gaps) < 0.1 * change  # the history gives way while the style changes: no lag, no ghost
    assert gaps[-1] < 0.05 * change


def test_fade_between_emotions_that_share_a_style_keeps_the_history():
    """Two emotions mapped to one style: a fade between them asks the network for the same thing, so the
    stable engine keeps its history (as with no style change at all); told the raw emotion weights, it would
    drop it for the whole fade."""
    pack = load_pack("default")
    pack.styles["happy"] = pack.styles["surprise"].copy()
    stylizer = Stylizer(pack, "cpu")
    happy, surprise = (np.eye(7, dtype=np.float32)[EMOTIONS.index(e)] for e in ("happy", "surprise"))
    frames = [_window(skimage.data.astronaut(), 100 + 2 * i, 40 + i) for i in range(10)]  # a slow pan
    outputs: dict[str, list[np.ndarray]] = {"look": [], "unchanged": [], "weights": []}
    engines = {name: TemporalStyler("stable") for name in outputs}
    for i, frame in enumerate(frames):
        k = min(1.0, i / 8)
        weights = happy * (1 - k) + surprise * k
        run = lambda small, w=weights: stylizer.stylize(small, w, None, 1.0)  # noqa: E731
        styles = {"look": stylizer.look(weights), "unchanged": stylizer.look(happy), "weights": weights}
        for name, engine in engines.items():
            outputs[name].append(engine.process(frame, run, PROCESS, style=styles[name])[0])
    assert np.array_equal(stylizer.look(happy), stylizer.look(surprise))
    assert all(np.array_equal(a, b) for a, b in zip(outputs["look"], outputs["unchanged"]))
    reference = FlickerReference(frames)
    assert reference.ratio(outputs["look"], "dis") < 0.8 * reference.ratio(outputs["weights"], "dis")


def test_flicker_measure_is_relative_to_the_input_and_skips_cuts():
    photo = skimage.data.astronaut()
    pan = [_window(photo, 60 + 2.3 * i, 40 + 0.7 * i) for i in range(5)]
    frames = pan + [_window(skimage.data.coffee(), 150, 100)] + pan[:3]
    reference = FlickerReference(frames)
    rng = np.random.default_rng(1)
    noisy = [np.clip(f.astype(int) + rng.integers(-30, 30, 3), 0, 255).astype(np.uint8) for f in frames]
    for method in reference.methods:
        assert list(np.flatnonzero(~reference.keep[method])) == [4, 5]  # into and out of the coffee frame
        assert reference.ratio(frames, method) == pytest.approx(1.0)
        assert reference.ratio(noisy, method) > 2


def test_settings_offer_every_mode():
    from emocam.settings import Settings, meta

    assert meta("temporal").choices == MODES
    assert Settings().temporal in MODES


def test_pipeline_runs_the_engine_and_reports_keyframes():
    from emocam.pipeline.pipeline import Pipeline
    from emocam.io.sources import SAMPLE_CLIP
    from emocam.settings import Settings
    from tools.temporal.clips import read_video

    frames = read_video(SAMPLE_CLIP, 0, 4)
    pipeline = Pipeline(Settings(device="cpu", process_size=PROCESS, temporal="keyframe"))
    try:
        results = [pipeline.process(f, i / 30) for i, f in enumerate(frames)]
    finally:
        pipeline.close()
    assert [r.facts.keyframe for r in results] == [True, False, False, True]
    assert [r.facts.temporal_reset for r in results] == [True, False, False, False]
    assert all(r.output.shape == f.shape for r, f in zip(results, frames))


def test_texture_mode_keeps_texture_steadies_and_resets_on_a_cut(stylize):
    """`texture` carries one reference (sampled once) instead of blending: on a slow pan it keeps more texture than
    `stable`, flickers less than `off` by both flows, runs the network only on keyframes, and after a cut shows
    the network's own output."""
    photo = skimage.data.astronaut()
    frames = [_window(photo, 60 + 1.3 * i, 40 + 0.4 * i, (PROCESS, PROCESS * 3 // 4)) for i in range(10)]
    reference = FlickerReference(frames)
    off, _ = _run("off", frames, stylize)
    stable, _ = _run("stable", frames, stylize)
    texture, infos = _run("texture", frames, stylize)
    keyframes = [i for i in infos[1:] if i["keyframe"]]
    assert keyframes and len(keyframes) < len(infos) - 1  # the network on some frames, not on all
    assert all(i["carried"] > 0.5 for i in keyframes)
    assert sharpness(texture) > 1.3 * sharpness(stable)
    for method in reference.methods:
        assert reference.ratio(texture, method) < 0.85 * reference.ratio(off, method), method
    cut = [frames[0]] * 3 + [_window(skimage.data.coffee(), 150, 100, (PROCESS, PROCESS * 3 // 4))] * 2
    outputs, infos = _run("texture", cut, stylize)
    per_frame, _ = _run("off", cut, stylize)
    assert [i["reset"] for i in infos] == [True, False, False, True, False]
    assert np.array_equal(outputs[3], per_frame[3])  # no ghost of the astronaut in the cut frame


def test_texture_refreshes_a_stale_reference_once_the_picture_stands_still(stylize):
    """A pan that comes to rest: the reference made while it moved no longer fits part of the picture. Left as it
    is (the rule off), that part is restyled from scratch at every keyframe (~18% of the frame, forever); with the
    rule the still picture gets a new reference, which then carries nearly everything."""
    photo = skimage.data.astronaut()
    rng = np.random.default_rng(0)
    size = (PROCESS, PROCESS * 3 // 4)
    moving = [_window(photo, 60 + 2 * i, 40 + i, size) for i in range(7)]
    still = [np.clip(moving[-1] + rng.normal(0, 2, moving[-1].shape), 0, 255).astype(np.uint8) for _ in range(12)]

    def still_keyframes(params: TemporalParams | None) -> list[dict]:
        _, infos = _run("texture", moving + still, stylize, params)
        return [i for i in infos[len(moving):] if i["keyframe"]]

    stale = still_keyframes(TemporalParams(still_carry_fraction=0.8))
    assert not any(i["rekey"] for i in stale) and max(i["carried"] for i in stale) < 0.9
    fresh = still_keyframes(None)
    first = next(n for n, i in enumerate(fresh) if i["rekey"])
    assert all(i["carried"] >= 0.95 and not i["rekey"] for i in fresh[first + 1:]) and len(fresh) > first + 1


@pytest.mark.parametrize("mode", ["stable", "texture", "keyframe"])
def test_the_network_runs_while_the_flow_is_measured(mode, stylize, monkeypatch):
    """On a frame the network will certainly run on, it starts on a helper thread before the flow (which needs
    only the inputs), so the two share the cores; the output is the same as one after the other. (`texture` and
    `keyframe` with the network on every frame here; their keyframes by count: see the next test.)"""
    frames = [_window(skimage.data.astronaut(), 100 + 1.5 * i, 40 + 0.5 * i) for i in range(4)]
    point = Rendezvous()  # met only when the network and the flow are running at the same time
    meet, met = point.meet, point.met

    def network(small: np.ndarray) -> np.ndarray:
        meet()
        return stylize(small)

    engine = TemporalStyler(mode, TemporalParams(keyframe_every=1))
    history = engine._history

    def measured(small, info):
        meet()
        return history(small, info)

    monkeypatch.setattr(engine, "_history", measured)
    overlapped = [engine.process(f, network, PROCESS)[0] for f in frames]
    assert met == [True] * 2 * len(frames)  # on every frame each waited for the other: both ran at once

    monkeypatch.setattr(temporal, "started", lambda call: (lambda result=call(): result))  # one after the other
    serial, _ = _run(mode, frames, stylize, TemporalParams(keyframe_every=1))
    assert all(np.array_equal(a, b) for a, b in zip(overlapped, serial))


@pytest.mark.parametrize("mode", ["texture", "keyframe"])
def test_keyframes_by_count_start_the_network_early_and_only_they_run_it(mode, stylize, monkeypatch):
    """With the network every 3rd frame, the frames due by count start it before the flow; the frames between
    carry the last keyframe's output and never call it."""
    starts: list[int] = []
    frame_index = [0]

    def recorded(call):
        starts.append(frame_index[0])
        return lambda result=call(): result

    monkeypatch.setattr(temporal, "started", recorded)
    engine = TemporalStyler(mode)
    stylize.calls = 0
    infos = []
    for i, frame in enumerate(_noisy_static(7)):
        frame_index[0] = i
        infos.append(engine.process(frame, stylize, PROCESS)[1])
    assert [i["keyframe"] for i in infos] == [True, False, False, True, False, False, True]
    assert starts == [0, 3, 6] and stylize.calls == 3
