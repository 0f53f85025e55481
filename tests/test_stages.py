"""Each pipeline stage on real pixels: faces, emotion, tracking, style packs and the pipeline itself."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier
from emocam.errors import EmocamError
from emocam.runtime import plan
from emocam.pipeline.faces import Face, FaceDetector, square_crop
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model
from emocam.pipeline.pipeline import STAGES, Pipeline
from emocam.pipeline.stages.base import FrameState, Stage
from emocam.io.sources import open_source
from emocam.pipeline.style import EmotionBlend, Stylizer, processing_shape
from emocam.packs.registry import load_pack
from emocam.pipeline.tracking import Tracker
from emocam.settings import Settings


@pytest.mark.parametrize("detector_range", ["short", "full"])
def test_astronaut_has_one_face(astronaut, detector_range):
    detector = FaceDetector(detector_range, video_mode=False)
    faces = detector.detect(astronaut)
    detector.close()
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    assert 150 < (x0 + x1) / 2 < 260 and 90 < (y0 + y1) / 2 < 170  # her face, not the flag or the shuttle


def test_astronaut_reads_as_happy(astronaut):
    detector = FaceDetector(video_mode=False)
    boxes = [f.box for f in detector.detect(astronaut)]
    detector.close()
    classifier = EmotionClassifier(find_model(DEFAULT_EMOTION_MODEL), "cpu")
    probs = classifier.classify(astronaut, boxes)
    assert probs.shape == (1, 7)
    assert EMOTIONS[int(np.argmax(probs[0]))] == "happy"
    assert probs.sum() == pytest.approx(1.0, abs=1e-4)


def test_batched_classification_matches_single(astronaut):
    classifier = EmotionClassifier(find_model(DEFAULT_EMOTION_MODEL), "cpu")
    boxes = [(177, 82, 272, 177), (20, 300, 120, 400), (300, 50, 420, 170)]
    batched = classifier.classify(astronaut, boxes)
    singles = np.concatenate([classifier.classify(astronaut, [b]) for b in boxes])
    np.testing.assert_allclose(batched, singles, atol=1e-5)


def test_square_crop_pads_at_the_border(astronaut):
    crop = square_crop(astronaut, (-30, -30, 40, 40), margin=0.2, size=64)
    assert crop.shape == (64, 64, 3)


def test_tracker_keeps_ids_on_the_real_clip(sample_clip):
    source = open_source(sample_clip)
    detector, tracker = FaceDetector(), Tracker()
    ids_per_frame = []
    for frame in source.frames():
        if frame.index >= 60:  # the zoom onto her face: the face grows and moves every frame
            break
        tracks = tracker.update(detector.detect(frame.image, frame.time), frame.time)
        ids_per_frame.append({t.track_id for t in tracks if t.seen})
    detector.close()
    source.close()
    assert all(ids == {1} for ids in ids_per_frame)


def test_tracker_survives_short_misses_and_expires():
    tracker = Tracker(max_miss_s=0.5)
    face = Face((100, 100, 200, 200), 0.9)
    assert [t.track_id for t in tracker.update([face], 0.0)] == [1]
    assert [(t.track_id, t.seen) for t in tracker.update([], 0.3)] == [(1, False)]
    moved = Face((110, 105, 212, 207), 0.9)
    assert [t.track_id for t in tracker.update([moved], 0.4)] == [1]
    assert tracker.update([], 1.0) == []
    assert [t.track_id for t in tracker.update([face], 1.1)] == [2]


def test_tracker_gives_two_faces_two_ids():
    tracker = Tracker()
    left, right = Face((0, 0, 50, 50), 0.9), Face((200, 0, 250, 50), 0.9)
    first = {t.track_id: t.box for t in tracker.update([left, right], 0.0)}
    second = {t.track_id: t.box for t in tracker.update([right, left], 0.033)}
    assert first == second and len(first) == 2


def test_default_pack_maps_every_emotion():
    pack = load_pack("default")
    assert pack.kind == "multistyle" and set(pack.styles) == set(EMOTIONS)
    assert all(v.shape == (26,) and v.sum() == pytest.approx(1.0) for v in pack.styles.values())


def test_unknown_pack_is_a_clear_error():
    with pytest.raises(EmocamError, match="not found"):
        load_pack("no-such-pack")


def test_blend_fades_over_the_blend_time():
    happy, sad = EMOTIONS.index("happy"), EMOTIONS.index("sad")
    blend = EmotionBlend(blend_s=0.5)
    assert blend.update("happy", 0.0)[happy] == 1.0  # the first emotion is taken at once
    blend.update("sad", 1.0)
    middle = blend.update("sad", 1.25)
    assert middle[happy] == pytest.approx(0.5, abs=0.01) and middle.sum() == pytest.approx(1.0)
    assert blend.update("sad", 1.5)[sad] == pytest.approx(1.0)


def test_processing_shape_is_a_multiple_of_four():
    assert processing_shape(1280, 720, 512) == (512, 288)
    w, h = processing_shape(641, 479, None)
    assert w % 4 == 0 and h % 4 == 0


def test_multistyle_stylizer_restyles_at_input_size(astronaut):
    stylizer = Stylizer(load_pack("default"), "cpu")
    weights = np.eye(7, dtype=np.float32)[EMOTIONS.index("happy")]
    out = stylizer.stylize(astronaut[:301, :250], weights, process_size=128, strength=1.0)
    assert out.shape == (301, 250, 3)
    assert np.abs(out.astype(int) - astronaut[:301, :250]).mean() > 20
    assert stylizer.stylize(astronaut, weights, 128, strength=0.0) is astronaut


def _scaling_network(path, factor: float) -> None:
    """A real one-node ONNX network: output = image * factor (stands in for a trained per-emotion net)."""
    node = helper.make_node("Mul", ["image", "k"], ["output"])
    k = helper.make_tensor("k", TensorProto.FLOAT, [], [factor])
    inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    graph = helper.make_graph([node], "scale", [inp], [out], initializer=[k])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), path)


def test_per_emotion_pack_crossfades_outputs(tmp_path):
    models = {}
    for i, emotion in enumerate(EMOTIONS):
        _scaling_network(tmp_path / f"{emotion}.onnx", 0.1 * (i + 1))
        models[emotion] = f"{emotion}.onnx"
    (tmp_path / "pack.json").write_text(json.dumps({"name": "scales", "kind": "per_emotion", "models": models}))
    stylizer = Stylizer(load_pack(tmp_path), "cpu")
    image = np.full((40, 60, 3), 200, np.uint8)
    weights = np.zeros(7, np.float32)
    weights[0] = weights[1] = 0.5  # halfway between angry (x0.1) and disgust (x0.2)
    out = stylizer.stylize(image, weights, process_size=None, strength=1.0)
    assert out.shape == image.shape
    assert abs(int(out[0, 0, 0]) - 30) <= 1


def test_pipeline_stylizes_and_reports(astronaut):
    pipeline = Pipeline(Settings(device="cpu", process_size=256), video_mode=False)
    result = pipeline.process(astronaut, 0.0)
    pipeline.close()
    assert result.output.shape == astronaut.shape
    assert result.emotion == "happy" and result.style_weights == {"happy": 1.0}
    assert [f.emotion for f in result.faces] == ["happy"]
    assert set(result.timings) == {"detect", "classify", "stylize"}
    planned = plan("cpu")  # OpenVINO where installed, in the precision the processor runs natively
    assert pipeline.devices["stylize"] == f"cpu {planned.precision} ({planned.backend})"
    assert pipeline.devices["classify"] == "cpu fp32 (onnxruntime)"


def test_cuda_without_a_gpu_is_an_error_not_a_fallback():
    from emocam.modelstore.runtime import cuda_status

    if cuda_status()[0]:
        pytest.skip("this machine has a working CUDA")
    with pytest.raises(EmocamError, match="cuda"):
        Pipeline(Settings(device="cuda"))


def test_a_shipped_pack_file_with_a_wrong_sha256_is_refused(tmp_path):
    import shutil

    from emocam.packs.registry import pack_folders

    copy = tmp_path / "johnson-distilled"
    shutil.copytree(pack_folders()["johnson-distilled"], copy)
    data = bytearray((copy / "angry.onnx").read_bytes())
    data[-10] ^= 0xFF
    (copy / "angry.onnx").write_bytes(bytes(data))
    with pytest.raises(EmocamError, match="sha256"):
        load_pack(copy)
    assert load_pack("johnson-distilled").kind == "per_emotion"


def test_a_settings_change_is_applied_once_not_per_frame(astronaut, monkeypatch):
    """A parameter goes to its stage at once; only a field that names a component rebuilds it."""
    pipeline = Pipeline(Settings(device="cpu", process_size=128), video_mode=False)
    classifier, stylizer, detector = pipeline.classifier, pipeline.stylizer, pipeline.detector
    calls = []
    monkeypatch.setattr("emocam.packs.multistyle.style_vector", lambda *a: calls.append(a) or np.eye(26)[0])
    pipeline.process(astronaut, 0.0)
    assert calls == []  # styles are not re-applied per frame
    changed = Settings(device="cpu", process_size=128, smoothing_s=2.0, blend_s=0.0, styles={"default": {"happy": 0}})
    pipeline.apply(changed)
    assert pipeline.smoothing.params["time_constant_s"] == 2.0 and pipeline.blend.blend_s == 0.0
    assert (pipeline.classifier, pipeline.stylizer, pipeline.detector) == (classifier, stylizer, detector)
    assert len(calls) == 7  # the style editor's change, once
    pipeline.apply(Settings(device="cpu", process_size=128, smoothing_s=2.0, detector="full"))
    assert pipeline.detector is not detector and pipeline.classifier is classifier
    pipeline.process(astronaut, 1.0)
    assert len(calls) == 14  # styles back to the pack's own (the change dropped the overrides), once
    pipeline.close()


def test_a_failed_rebuild_keeps_the_running_pipeline(astronaut):
    pipeline = Pipeline(Settings(device="cpu", process_size=128), video_mode=False)
    stylizer = pipeline.stylizer
    with pytest.raises(EmocamError, match="not found"):
        pipeline.apply(Settings(device="cpu", process_size=128, pack="no-such-pack"))
    assert pipeline.stylizer is stylizer and pipeline.settings.pack == "default"
    assert pipeline.process(astronaut, 0.0).output.shape == astronaut.shape
    pipeline.close()


def _logged(kind: type[Stage], log: list[tuple[str, str]]) -> type[Stage]:
    """A test double: the real stage `kind`, noting each call of its lifecycle in `log`."""

    class Logged(kind):  # type: ignore[valid-type, misc]
        def run(self, frame: FrameState) -> None:
            log.append(("run", kind.__name__))
            super().run(frame)

        def reset(self) -> None:
            log.append(("reset", kind.__name__))
            super().reset()

        def close(self) -> None:
            log.append(("close", kind.__name__))
            super().close()

    return Logged


class Mirror(Stage):
    """A stage added by the list alone: the stylized frame mirrored left to right."""

    timing = "mirror"

    def run(self, frame: FrameState) -> None:
        frame.output = np.ascontiguousarray(frame.output[:, ::-1])


def test_the_pipeline_is_its_list_of_stages(astronaut, monkeypatch):
    """process, apply, reset and close go over STAGES in its order; a new stage is one more entry there."""
    log: list[tuple[str, str]] = []
    stages = tuple(_logged(kind, log) for kind in STAGES) + (Mirror,)
    monkeypatch.setattr("emocam.pipeline.pipeline.STAGES", stages)
    settings = Settings(device="cpu", process_size=128, temporal="off")
    pipeline = Pipeline(settings, video_mode=False)
    try:
        result = pipeline.process(astronaut, 0.0)
        assert [name for call, name in log if call == "run"] == ["DetectStage", "ClassifyStage", "StyleStage"]
        assert list(result.timings) == ["detect", "classify", "stylize", "mirror"]
        unmirrored = pipeline.stylizer.stylize(astronaut, np.eye(7, dtype=np.float32)[EMOTIONS.index("happy")],
                                               128, 1.0)
        np.testing.assert_array_equal(result.output, unmirrored[:, ::-1])

        log.clear()
        pipeline.apply(replace(settings, regions="person"))  # the regions stage is built anew, then styles instead
        result = pipeline.process(astronaut, 1.0)
        assert [name for call, name in log if call == "run"] == ["DetectStage", "ClassifyStage", "RegionsStage"]
        assert ("close", "RegionsStage") in log  # the idle one it replaced
        assert list(result.timings) == ["detect", "classify", "regions", "stylize", "mirror"]
        assert pipeline.regions is not None and result.facts.regions == "person"

        log.clear()
        pipeline.reset()
        assert log == [("reset", kind.__name__) for kind in STAGES]
    finally:
        log.clear()
        pipeline.close()
    assert log == [("close", kind.__name__) for kind in STAGES]
    assert pipeline.detector is None and pipeline.regions is None


def test_the_stages_that_style_come_after_those_that_read():
    """`Pipeline.analyse` runs the stages before the first that styles the frame, `finish` the rest (render and the
    live view run the two parts on two threads): no stage that only reads the frame may come after one that
    styles it."""
    from emocam.pipeline.pipeline import STAGES

    styles = [stage.styles for stage in STAGES]
    assert styles == sorted(styles) and any(styles) and not all(styles)


def test_render_styles_each_frame_while_it_analyses_the_next(sample_clip, monkeypatch):
    """The render step on real frames: analysing frame N+1 runs while frame N is styled on a helper thread; the
    frame loop's writer takes the frames in order, the same as one after the other."""
    import av
    from rendezvous import Rendezvous

    from emocam.io.sources import Frame
    from emocam.pipeline.loop import run_loop
    from emocam.pipeline.step import pipeline_step

    with av.open(str(sample_clip)) as container:
        images = [f.to_ndarray(format="rgb24") for _, f in zip(range(8), container.decode(video=0))]
    settings = Settings(process_size=64)
    serial = Pipeline(settings, video_mode=True)
    try:
        alone = [serial.process(image, i / 30).output for i, image in enumerate(images)]
    finally:
        serial.close()
    point = Rendezvous()  # met only by an analysis and a styling running at the same time
    meet, met = point.meet, point.met

    pipeline = Pipeline(settings, video_mode=True)
    analyse, finish = pipeline.analyse, pipeline.finish
    last = (len(images) - 1) / 30
    monkeypatch.setattr(pipeline, "analyse", lambda image, t: (t > 0 and meet(), analyse(image, t))[1])
    monkeypatch.setattr(pipeline, "finish", lambda state: (state.time < last and meet(), finish(state))[1])

    class Collect:
        def __init__(self) -> None:
            self.items = []

        def write(self, item) -> None:
            self.items.append(item)

    sink = Collect()
    try:
        run_loop((Frame(image, i / 30, i) for i, image in enumerate(images)), pipeline_step(pipeline, settings), [sink])
    finally:
        pipeline.close()
    assert met == [True] * 2 * 7  # each analysis of frames 1-7 ran while the frame before it was styled
    assert [item.frame.index for item in sink.items] == list(range(8))
    assert all(np.array_equal(item.image, out) for item, out in zip(sink.items, alone))
