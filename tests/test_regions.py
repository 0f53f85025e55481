"""Region styling on real pixels: people in their own emotion's style, faces kept, people leaving without a trace."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from emocam.labels import EMOTIONS
from emocam.pipeline.faces import Face
from emocam.pipeline.pipeline import Pipeline
from emocam.pipeline.regions import RegionPlan, RegionStyler, composite
from emocam.pipeline.segmentation import PersonSegmenter
from emocam.settings import Settings


@pytest.fixture(scope="module")
def hopper() -> np.ndarray:
    """Grace Hopper's US Navy portrait (public domain, matplotlib's sample data): a real, neutral face."""
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        data = np.frombuffer(f.read(), np.uint8)
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def pair(astronaut, hopper) -> np.ndarray:
    """Two real people side by side: the astronaut smiling (left), Grace Hopper neutral (right)."""
    right = cv2.resize(hopper, (round(hopper.shape[1] * 512 / hopper.shape[0]), 512), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.hstack([astronaut, right]))


def _onehot(emotion: str) -> np.ndarray:
    return np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]


def _run(settings: Settings, frames, times):
    pipeline = Pipeline(settings, video_mode=True)
    try:
        return [pipeline.process(f, t) for f, t in zip(frames, times)], pipeline
    finally:
        pipeline.close()


def test_two_people_two_styles_and_the_records_say_which(pair):
    settings = Settings(regions="person", detector="full", smoothing_s=0.0, dwell_s=0.0, blend_s=0.0)
    results, pipeline = _run(settings, [pair] * 3, [0.0, 0.04, 0.08])
    result = results[-1]
    faces = sorted(result.faces, key=lambda f: f.box[0])
    assert len(faces) == 2
    left, right = faces
    assert (left.emotion, right.emotion) == ("happy", "neutral")
    assert left.style == {"happy": 1.0} and right.style == {"neutral": 1.0}
    assert sorted(result.facts.styles) == ["happy", "neutral"]  # one network run per style

    # each person's body carries their own style: compare with each style over the whole frame
    stylizer = pipeline.stylizer
    styled = {e: stylizer.stylize(pair, _onehot(e), 512, 1.0).astype(np.float32) for e in ("happy", "neutral")}
    out = result.output.astype(np.float32)
    for face, own, other in ((left, "happy", "neutral"), (right, "neutral", "happy")):
        x0, y0, x1, y1 = (int(v) for v in face.box)
        body = (slice(y1 + (y1 - y0) // 4, y1 + (y1 - y0)), slice(x0, x1))  # the chest under the face
        to_own = np.abs(out[body] - styled[own][body]).mean()
        to_other = np.abs(out[body] - styled[other][body]).mean()
        assert to_own < 0.25 * to_other, (face.track_id, to_own, to_other)



def test_render_person_mode_writes_each_persons_style(pair, tmp_path):
    """The same through `emocam render`: the JSON record says which style each person got."""
    src, out, records = tmp_path / "pair.png", tmp_path / "pair.out.png", tmp_path / "pair.jsonl"
    cv2.imwrite(str(src), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR))
    run = subprocess.run([sys.executable, "-m", "emocam", "render", str(src), "-o", str(out), "--regions", "person",
                          "--detector", "full", "--json", str(records)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    record = json.loads(records.read_text().splitlines()[0])
    assert record["regions"] == "person" and sorted(record["styles"]) == ["happy", "neutral"]
    styles = {f["emotion"]: f["style"] for f in sorted(record["faces"], key=lambda f: f["box"][0])}
    assert styles == {"happy": {"happy": 1.0}, "neutral": {"neutral": 1.0}}
    assert cv2.imread(str(out)).shape == pair.shape


def _walk_out_clip(astronaut, hopper, steps: int = 25, stay: int = 30):
    """Grace Hopper stays on the left (largest face: the frame's emotion, neutral); the smiling astronaut, smaller,
    walks out to the right over `steps` frames, then the empty spot is shown for `stay` frames (25 fps)."""
    stage = np.full((384, 896, 3), 0, np.uint8)
    stage[:] = cv2.resize(astronaut[:64, 420:], (896, 384))  # real backdrop: the astronaut photo's grey wall
    left = cv2.resize(hopper, (round(hopper.shape[1] * 384 / hopper.shape[0]), 384), interpolation=cv2.INTER_AREA)
    small = cv2.resize(astronaut[:, :400], (240, 307), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(steps + stay):
        frame = stage.copy()
        frame[:, :left.shape[1]] = left
        x = 520 + int(round(min(i, steps) / steps * 420))
        visible = max(0, min(240, 896 - x))
        if visible:
            frame[384 - 307:, x:x + visible] = small[:, :visible]
        frames.append(frame)
    return frames, stage, left.shape[1]


def test_a_person_walking_out_fades_without_a_halo(astronaut, hopper):
    frames, _, left_width = _walk_out_clip(astronaut, hopper)
    times = [i / 25 for i in range(len(frames))]
    settings = Settings(regions="person", detector="full", smoothing_s=0.0, dwell_s=0.0, blend_s=0.2, temporal="off")
    results, pipeline = _run(settings, frames, times)
    assert results[0].emotion == "neutral" and "happy" in results[0].facts.styles
    happy_faces = [f for f in results[0].faces if f.emotion == "happy"]
    assert happy_faces and happy_faces[0].style == {"happy": 1.0}
    # once she has gone (track expired and faded), only the frame's style is left: one network run
    assert results[-1].facts.styles == ["neutral"]
    assert all(f.emotion != "happy" for f in results[-1].faces)
    # ... and where she stood, the picture is exactly the background's style: no halo of hers
    last = frames[-1]
    expected = pipeline.stylizer.stylize(last, _onehot("neutral"), 512, 1.0)
    spot = (slice(384 - 307, 384), slice(520, 896))
    assert np.abs(results[-1].output[spot].astype(int) - expected[spot].astype(int)).max() <= 2
    # while she left, her style faded out of that spot frame by frame (never gone in one cut), to nothing
    residual = []
    for frame, result in list(zip(frames, results))[4:36]:
        neutral = pipeline.stylizer.stylize(frame, _onehot("neutral"), 512, 1.0)
        residual.append(np.abs(result.output[spot].astype(float) - neutral[spot].astype(float)).mean())
    peak = int(np.argmax(residual))
    drops = np.diff(residual[peak:])
    assert residual[peak] > 8 and residual[-1] < 0.5
    assert drops.min() > -0.35 * residual[peak], residual  # a fade, not a cut


def test_background_mode_keeps_face_pixels_close_to_the_input(astronaut):
    base = Settings(smoothing_s=0.0, dwell_s=0.0)
    frame, _ = _run(base, [astronaut], [0.0])
    background, _ = _run(Settings(regions="background", smoothing_s=0.0, dwell_s=0.0), [astronaut], [0.0])
    face = background[0].faces[0]
    x0, y0, x1, y1 = (int(v) for v in face.box)
    box = (slice(y0, y1), slice(x0, x1))
    changed_frame = np.abs(frame[0].output[box].astype(int) - astronaut[box].astype(int)).mean()
    changed_background = np.abs(background[0].output[box].astype(int) - astronaut[box].astype(int)).mean()
    assert changed_background < 0.35 * changed_frame, (changed_background, changed_frame)
    # the backdrop (top left corner: the flag) is fully styled, exactly as in frame mode
    corner = (slice(0, 60), slice(0, 60))
    assert np.abs(background[0].output[corner].astype(int) - frame[0].output[corner].astype(int)).max() <= 2


def test_frame_mode_builds_no_segmenter_and_apply_switches_modes(astronaut):
    pipeline = Pipeline(Settings(), video_mode=False)
    try:
        assert pipeline.regions is None
        result = pipeline.process(astronaut, 0.0)
        assert result.facts.regions == "frame" and result.faces[0].style is None
        pipeline.apply(Settings(regions="person", face_strength=0.5))
        assert pipeline.regions is not None and pipeline.regions.face_strength == 0.5
        pipeline.apply(Settings())
        assert pipeline.regions is None
    finally:
        pipeline.close()


def test_face_strength_one_on_a_single_style_equals_frame_mode(astronaut):
    """At face strength 1 with one emotion on screen, person mode is the frame's stylization."""
    segmenter = PersonSegmenter(video_mode=False)
    try:
        styler = RegionStyler(segmenter, "person", 1.0)
        face = Face((177, 82, 272, 177), 0.9, track_id=1, emotion="happy")
        plan = styler.plan(astronaut, [face], _onehot("happy"), 0.0)
    finally:
        segmenter.close()
    assert plan.styles == ["happy"] and float(plan.amount.min()) == 1.0
    styled = np.full_like(astronaut, 200)
    assert np.array_equal(composite(astronaut, {"happy": styled}, plan), styled)


def test_composite_is_a_pure_weighted_mix():
    image = np.zeros((8, 8, 3), np.uint8)
    half = np.zeros((4, 4), np.float32)
    half[:, :2] = 1.0
    plan = RegionPlan({"happy": half, "sad": 1.0 - half}, np.full((4, 4), 0.5, np.float32))
    out = composite(image, {"happy": np.full_like(image, 200), "sad": np.full_like(image, 100)}, plan)
    assert out[0, 0, 0] == 100 and out[0, 7, 0] == 50  # half of each style over black


def test_live_window_regions_and_face_strength_controls_reach_the_pipeline(qtbot, tmp_path):
    """The window's schema-made controls: choosing person regions and a face strength restyles by person."""
    from emocam.live.window import MainWindow
    from emocam.io.sources import SAMPLE_CLIP
    from emocam.settings import SettingsFile

    config = tmp_path / "live.json"
    config.write_text(json.dumps({"process_size": 256, "device": "cpu", "record_dir": str(tmp_path)}))
    window = MainWindow(SettingsFile(config), source=str(SAMPLE_CLIP))
    window.show()
    try:
        qtbot.waitUntil(lambda: window.last_shown is not None and window.last_shown.result is not None,
                        timeout=90_000)
        regions = window.side.control("regions")
        regions.widget.setCurrentIndex(regions.widget.findData("person"))
        window.side.control("face_strength").slider.setValue(20)

        def person_mode_running() -> bool:
            result = window.last_shown.result if window.last_shown is not None else None
            return bool(result is not None and result.facts.regions == "person"
                        and window.controller.step.pipeline.regions is not None
                        and window.controller.step.pipeline.regions.face_strength == 0.2)

        qtbot.waitUntil(person_mode_running, timeout=90_000)
    finally:
        window.close()
    saved = json.loads(config.read_text())
    assert saved["regions"] == "person" and saved["face_strength"] == 0.2  # kept for the next run


def test_default_face_strength_keeps_the_astronaut_recognizable(astronaut):
    """eval_style --regions on one real face: at the default face strength the detector still finds it after
    every style and its emotion reads the same; at face strength 1 person mode is as hard on it as frame."""
    from tools.style.measures import FaceCheck
    from tools.style.region_eval import evaluate_regions

    check = FaceCheck([astronaut])
    try:
        results = evaluate_regions([astronaut], check, "default", (Settings().face_strength, 1.0))
    finally:
        check.close()
    default = results[f"person@{Settings().face_strength:g}"]
    assert default["face_kept"] >= 0.9 and default["emotion_score"] >= 0.8
    assert results[f"background@{Settings().face_strength:g}"]["face_kept"] >= 0.9
    assert default["background_styled"] > 0.99
    assert results["person@1"]["face_kept"] == results["frame"]["face_kept"] < 0.9


def test_two_people_with_one_emotion_cost_one_network_run():
    """The sample clip's two smiling faces: one style on screen, so the network runs once, not once per person."""
    from tools.style.evaluate import read_frame_set
    from emocam.io.sources import SAMPLE_CLIP

    frame = read_frame_set(SAMPLE_CLIP, [200])[0]
    results, _ = _run(Settings(regions="person", detector="full", smoothing_s=0.0, dwell_s=0.0), [frame], [0.0])
    faces = results[0].faces
    assert len(faces) == 2 and {f.emotion for f in faces} == {"happy"}
    assert results[0].facts.styles == ["happy"]
    assert all(f.style == {"happy": 1.0} for f in faces)
