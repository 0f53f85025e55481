"""Pictures packs on real pixels: packs made from real photos, a real clip rendered, bad pictures refused."""
from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from emocam.cli import main
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model
from emocam.packs import pictures as picture_style
from emocam.modelstore.onnx_dims import free_axes
from emocam.packs.pictures import CONTENT_INPUT, ENCODER, TRANSFORM_OUTPUT, VECTOR
from emocam.pipeline.style import Stylizer
from emocam.packs.registry import load_pack


def warmth(rgb: np.ndarray) -> float:
    """Mean red minus mean blue: positive for warm pictures, negative for cold ones."""
    pixels = rgb.reshape(-1, 3).astype(np.float64)
    return float(pixels[:, 0].mean() - pixels[:, 2].mean())


def onehot(emotion: str) -> np.ndarray:
    return np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, Path]:
    """Two real photos of opposite colour (scikit-image, public domain): warm coffee, a rocket under blue sky."""
    import skimage.data

    folder = tmp_path_factory.mktemp("pictures")
    warm, cold = folder / "coffee.png", folder / "rocket.jpg"
    cv2.imwrite(str(warm), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(cold), cv2.cvtColor(skimage.data.rocket(), cv2.COLOR_RGB2BGR))
    assert warmth(skimage.data.coffee()) > 50 > 0 > warmth(skimage.data.rocket())
    return {"warm": warm, "cold": cold}


@pytest.fixture(scope="module")
def pack(pictures, tmp_path_factory) -> tuple[Path, int]:
    """`emocam pack new` with happy = warm, neutral = cold; and how many predictor runs it took."""
    folder = tmp_path_factory.mktemp("packs") / "warmcold"
    ENCODER.known.clear()
    before = ENCODER.runs
    assert main(["pack", "new", "warmcold", "--happy", str(pictures["warm"]), "--neutral", str(pictures["cold"]),
                 "--out", str(folder)]) == 0
    return folder, ENCODER.runs - before


def test_free_axes_changes_only_the_declared_shapes():
    onnx = pytest.importorskip("onnx")
    path = find_model("arbitrary_transform.onnx")
    freed = free_axes(path.read_bytes(), {CONTENT_INPUT: {1: "h", 2: "w"}, TRANSFORM_OUTPUT: {1: "h", 2: "w"}})
    before, after = onnx.load(str(path)), onnx.load_from_string(freed)
    onnx.checker.check_model(after)
    dims = lambda value: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]  # noqa: E731
    assert [dims(v) for v in after.graph.input] == [[1, "h", "w", 3], [1, 1, 1, 100]]
    assert [dims(v) for v in after.graph.output] == [[1, "h", "w", 3]]
    assert before.graph.node == after.graph.node and before.graph.initializer == after.graph.initializer
    with pytest.raises(ValueError):
        free_axes(path.read_bytes(), {"no_such_input": {1: "h"}})


def test_freed_transform_equals_the_fixed_one_and_runs_at_any_size(astronaut, pack):
    import onnxruntime as ort

    vector = load_pack(pack[0]).styles["happy"].reshape(1, 1, 1, 100)
    path = find_model("arbitrary_transform.onnx")
    fixed = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    free = picture_style.transform_network(path, "cpu-onnxruntime")
    square = cv2.resize(astronaut, (384, 384), interpolation=cv2.INTER_AREA)[None].astype(np.float32) / 255
    feed = {CONTENT_INPUT: square, VECTOR: vector}
    np.testing.assert_array_equal(fixed.run(None, feed)[0], free.run(feed)[0])
    for h, w in ((480, 640), (360, 640), (200, 120)):  # landscape, wide, portrait: never squashed to a square
        frame = cv2.resize(astronaut, (w, h), interpolation=cv2.INTER_AREA)
        out = free.run({CONTENT_INPUT: frame[None].astype(np.float32) / 255, VECTOR: vector})[0][0]
        assert out.shape == (h, w, 3)
        # the picture's geometry is kept: output edges line up with the input's, not with a shifted copy
        edges_in = cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)
        edges_out = cv2.Laplacian(cv2.cvtColor((out * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)
        aligned = np.corrcoef(np.abs(edges_in).ravel(), np.abs(edges_out).ravel())[0, 1]
        shifted = np.corrcoef(np.abs(np.roll(edges_in, 6, axis=1)).ravel(), np.abs(edges_out).ravel())[0, 1]
        assert aligned > shifted + 0.05


def test_pack_new_writes_a_self_contained_pack(pack, pictures):
    folder, runs = pack
    raw = json.loads((folder / "pack.json").read_text())
    assert raw["kind"] == "pictures" and set(raw["pictures"]) == {"happy", "neutral"}
    assert all((folder / name).is_file() for name in raw["pictures"].values())  # copies inside the pack
    assert runs == 2  # one predictor run per picture
    cache = json.loads((folder / "style_vectors.json").read_text())
    assert len(cache["vectors"]) == 2 and all(len(v) == 100 for v in cache["vectors"].values())


def test_unlisted_emotions_follow_neutral_else_the_mean(pack, pictures, tmp_path):
    styles = load_pack(pack[0]).styles
    for emotion in ("angry", "disgust", "fear", "sad", "surprise"):
        np.testing.assert_array_equal(styles[emotion], styles["neutral"])
    assert np.abs(styles["happy"] - styles["neutral"]).max() > 0.1
    assert main(["pack", "new", "nomean", "--happy", str(pictures["warm"]), "--sad", str(pictures["cold"]),
                 "--out", str(tmp_path / "p")]) == 0
    styles = load_pack(tmp_path / "p").styles
    for emotion in ("angry", "disgust", "fear", "surprise", "neutral"):
        np.testing.assert_allclose(styles[emotion], (styles["happy"] + styles["sad"]) / 2, rtol=1e-6)


def test_a_blend_of_pictures_blends_their_vectors(pack, pictures, tmp_path):
    spec = f"{pictures['warm']}:0.7,{pictures['cold']}:0.3"
    assert main(["pack", "new", "blend", "--happy", spec, "--out", str(tmp_path / "p")]) == 0
    blended = load_pack(tmp_path / "p").styles["happy"]
    single = load_pack(pack[0]).styles
    np.testing.assert_allclose(blended, 0.7 * single["happy"] + 0.3 * single["neutral"], rtol=1e-5, atol=1e-6)


def test_emotions_restyle_towards_their_pictures_and_blend_smoothly(pack, astronaut):
    stylizer = Stylizer(load_pack(pack[0]), "cpu")
    runs = ENCODER.runs
    warm = stylizer.stylize(astronaut, onehot("happy"), 256, 1.0)
    cold = stylizer.stylize(astronaut, onehot("neutral"), 256, 1.0)
    half = stylizer.stylize(astronaut, (onehot("happy") + onehot("neutral")) / 2, 256, 1.0)
    assert warm.shape == astronaut.shape
    assert warmth(warm) > warmth(half) > warmth(cold)
    assert warmth(warm) - warmth(cold) > 30
    assert ENCODER.runs == runs  # frames run only the transform


def test_vectors_are_cached_beside_the_pack_by_sha256(pack, pictures, tmp_path):
    folder = tmp_path / "p"
    assert main(["pack", "new", "cache", "--happy", str(pictures["warm"]), "--out", str(folder)]) == 0
    ENCODER.known.clear()
    runs = ENCODER.runs
    load_pack(folder)
    assert ENCODER.runs == runs  # read from style_vectors.json
    (folder / "style_vectors.json").unlink()
    ENCODER.known.clear()
    load_pack(folder)
    assert ENCODER.runs == runs + 1 and (folder / "style_vectors.json").is_file()
    cache = json.loads((folder / "style_vectors.json").read_text())  # a damaged cache entry is recomputed
    digest = next(iter(cache["vectors"]))
    cache["vectors"][digest] = ["x"] * 100
    (folder / "style_vectors.json").write_text(json.dumps(cache))
    ENCODER.known.clear()
    load_pack(folder)
    assert ENCODER.runs == runs + 2
    runs += 1
    picture = next((folder / "pictures").iterdir())  # a picture edited in place gets a new vector
    cv2.imwrite(str(picture), cv2.flip(cv2.imread(str(picture)), 0)[:, : 300])
    load_pack(folder)
    assert ENCODER.runs == runs + 2


def test_a_real_clip_renders_each_emotion_towards_its_picture(pack, sample_clip, tmp_path):
    """Render the bundled clip (a smiling face, then no face: happy, then neutral after a short hold)."""
    out, records = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    ENCODER.known.clear()
    runs = ENCODER.runs
    assert main(["render", str(sample_clip), "-o", str(out), "--json", str(records), "--pack", str(pack[0]),
                 "--process-size", "128", "--device", "cpu", "--hold", "0.3", "--blend", "0.2"]) == 0
    assert ENCODER.runs == runs  # the pack's cached vectors: no predictor run for 210 frames
    with av.open(str(sample_clip)) as a, av.open(str(out)) as b:
        pairs = list(zip((f.to_ndarray(format="rgb24") for f in a.decode(video=0)),
                         (f.to_ndarray(format="rgb24") for f in b.decode(video=0))))
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(rows) == len(pairs) == 210
    shift = {"happy": [], "neutral": []}  # how much warmer each frame came out than it went in
    for (source, styled), row in zip(pairs, rows):
        if row["emotion"] in shift and row["style_weights"].get(row["emotion"], 0) >= 0.95:
            shift[row["emotion"]].append(warmth(styled) - warmth(source))
    assert len(shift["happy"]) >= 10 and len(shift["neutral"]) >= 5, {k: len(v) for k, v in shift.items()}
    means = {k: round(float(np.mean(v)), 1) for k, v in shift.items()}
    assert means["happy"] - means["neutral"] > 20, means  # warm picture vs cold picture


BAD_PICTURES = {
    "missing": (lambda d: d / "nothing.jpg", "not found"),
    "folder": (lambda d: d, "is a folder"),
    "text": (lambda d: _write(d / "notes.jpg", b"not a picture at all\n"), "is not a PNG, JPEG"),
    "empty": (lambda d: _write(d / "empty.png", b""), "is empty"),
    "damaged": (lambda d: _write(d / "cut.png", _png_bytes()[:200]), "damaged"),
    "tiny": (lambda d: _write(d / "tiny.png", cv2.imencode(".png", np.full((40, 300, 3), 90, np.uint8))[1].tobytes()),
             "at least 64 pixels"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_bytes() -> bytes:
    import skimage.data

    return cv2.imencode(".png", skimage.data.chelsea())[1].tobytes()


@pytest.mark.parametrize("case", sorted(BAD_PICTURES))
def test_a_bad_picture_is_one_line_exit_2_and_the_pack_untouched(case, pack, pictures, tmp_path, capsys):
    make, message = BAD_PICTURES[case]
    bad = make(tmp_path)
    before = files(pack[0])
    capsys.readouterr()
    assert main(["pack", "set", str(pack[0]), "--sad", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("emocam: error: ") and message in err, err
    assert files(pack[0]) == before
    target = tmp_path / "packs" / "new"
    assert main(["pack", "new", "new", "--happy", str(pictures["warm"]), "--sad", str(bad), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "packs").exists() or not any((tmp_path / "packs").iterdir())


def test_pack_set_changes_one_emotion(pack, pictures, tmp_path):
    folder = tmp_path / "p"
    assert main(["pack", "new", "set", "--happy", str(pictures["warm"]), "--out", str(folder)]) == 0
    assert main(["pack", "set", str(folder), "--happy", str(pictures["cold"])]) == 0
    styles = load_pack(folder).styles
    np.testing.assert_array_equal(styles["happy"], load_pack(pack[0]).styles["neutral"])


@pytest.mark.parametrize("mode", [{"temporal": "keyframe"}, {"temporal": "guided"}, {"regions": "person"}])
def test_temporal_and_region_modes_run_a_pictures_pack(mode, pack, sample_clip):
    """The temporal engine and region styling call the same Stylizer: the happy face's warm picture shows."""
    from emocam.pipeline.pipeline import Pipeline
    from emocam.io.sources import VideoFileSource
    from emocam.settings import Settings

    pipeline = Pipeline(Settings(pack=str(pack[0]), device="cpu", process_size=128, **mode), video_mode=True)
    source = VideoFileSource(sample_clip)
    runs, shifts, infos = ENCODER.runs, [], []
    try:
        for frame, _ in zip(source.frames(), range(12)):
            result = pipeline.process(frame.image, frame.time)
            assert result.output.shape == frame.image.shape and result.emotion == "happy"
            shifts.append(warmth(result.output) - warmth(frame.image))
            infos.append(result.facts)
    finally:
        source.close()
        pipeline.close()
    assert ENCODER.runs == runs
    assert min(shifts) > 15, shifts  # warmer than the input, like the coffee picture
    if mode.get("temporal") == "keyframe":
        assert any(not facts.keyframe for facts in infos)  # frames carried along the flow, network skipped
    if "regions" in mode:
        assert all(facts.styles and facts.regions == "person" for facts in infos)


def test_contact_sheet_shows_each_picture_above_its_result(astronaut):
    from tools.style.picture_sheet import TILE, make_sheet

    sheet = make_sheet(["skimage:coffee", "skimage:rocket"], astronaut[:300, 100:400], 192)
    assert sheet.shape[1] == 3 * TILE + 2 * 8 and sheet.shape[0] == 2 * (TILE + 26) + 8
    warm, cold = (sheet[TILE + 34:2 * TILE + 34, k * (TILE + 8):k * (TILE + 8) + TILE] for k in (1, 2))
    assert warmth(warm) > warmth(cold) + 30


def test_a_running_pipeline_shows_a_new_picture_on_its_next_frame(pictures, astronaut, tmp_path):
    """What the live style editor does: `set_pictures` on the pack a pipeline is running, no rebuild."""
    from emocam.packs.authoring import set_pictures
    from emocam.pipeline.pipeline import Pipeline
    from emocam.settings import Settings

    folder = tmp_path / "live"
    assert main(["pack", "new", "live", "--neutral", str(pictures["warm"]), "--out", str(folder)]) == 0
    pipeline = Pipeline(Settings(pack=str(folder), device="cpu", process_size=128, temporal="off"), video_mode=False)
    try:
        before = pipeline.process(astronaut, 0.0)
        stylizer = pipeline.stylizer
        set_pictures(folder, {"neutral": [(pictures["cold"], 1.0)]})
        after = pipeline.process(astronaut, 0.1)
    finally:
        pipeline.close()
    assert pipeline.stylizer is stylizer  # nothing rebuilt
    assert warmth(before.output) - warmth(after.output) > 30
    assert load_pack(folder).raw["pictures"]["neutral"].startswith("pictures/rocket-")


@pytest.mark.parametrize("pictures, message", [
    ([], "needs `pictures`"), ({}, "needs `pictures`"), ({"joy": "a.png"}, "unknown emotion joy"),
    ({"happy": ""}, "must be a file name"), ({"happy": {"a.png": "x"}}, "must be a file name"),
    ({"happy": {"a.png": -1}}, "positive weights"), ({"happy": 7}, "must be a file name"),
    ({"happy": "missing.png"}, "not found"),
])
def test_a_hand_written_pack_json_with_bad_pictures_is_one_clear_error(pictures, message, tmp_path):
    from emocam.errors import EmocamError

    (tmp_path / "pack.json").write_text(json.dumps({"kind": "pictures", "pictures": pictures}))
    with pytest.raises(EmocamError, match=message):
        load_pack(tmp_path)


def test_style_editor_takes_a_dropped_picture_on_the_row_under_it(qtbot, pictures):
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    from emocam.live.style_editor import StyleEditor

    editor = StyleEditor()
    qtbot.addWidget(editor)
    editor.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(pictures["cold"]))])

    def drag_enter(y: int) -> bool:
        event = QDragEnterEvent(QPoint(10, y), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
        event.ignore()
        editor.dragEnterEvent(event)
        return event.isAccepted()

    editor.set_pack({e: 0 for e in EMOTIONS}, 26, True)  # a multistyle pack takes no pictures
    assert not drag_enter(10) and not editor.choose_buttons["sad"].isVisible()
    thumbnail = cv2.resize(cv2.imread(str(pictures["warm"]))[..., ::-1], (56, 56))
    editor.set_pack({e: "coffee.png" if e == "happy" else "as the mean" for e in EMOTIONS}, 0, False,
                    {"happy": np.ascontiguousarray(thumbnail)})
    assert editor.choose_buttons["sad"].isVisible() and not editor.previews["happy"].pixmap().isNull()
    got = []
    editor.picture_chosen.connect(lambda emotion, path: got.append((emotion, path)))
    y = editor.combos["sad"].geometry().center().y()
    assert drag_enter(y)
    drop = QDropEvent(QPointF(10, y), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    editor.dropEvent(drop)
    assert got == [("sad", str(pictures["cold"]))]


def test_live_window_restyles_with_a_dropped_picture(qtbot, pictures, tmp_path, monkeypatch):
    """The live window on the sample clip with a pictures pack: a new picture for the emotion in use shows up
    in the stylized frames (and as the row's thumbnail) without restarting anything."""
    import time

    from emocam.live.window import MainWindow
    from emocam.io.sources import SAMPLE_CLIP
    from emocam.settings import SettingsFile

    monkeypatch.setenv("EMOCAM_MODELS", str(tmp_path / "models"))  # the new pack is found by name there
    assert main(["pack", "new", "livepics", "--neutral", str(pictures["warm"])]) == 0
    config = tmp_path / "live.json"
    config.write_text(json.dumps({"pack": "livepics", "process_size": 128, "device": "cpu", "temporal": "off"}))
    window = MainWindow(SettingsFile(config), source=str(SAMPLE_CLIP))
    window.show()
    try:
        def shift() -> float:
            shown = window.last_shown
            if shown is None or shown.result is None:
                return 0.0
            return warmth(shown.result.output) - warmth(shown.raw)

        qtbot.waitUntil(lambda: shift() > 15, timeout=90_000)  # every emotion follows neutral: the coffee
        editor = window.side.style_editor
        assert editor.choose_buttons["happy"].isVisible() and "coffee" in editor.combos["neutral"].currentText()
        started = time.monotonic()
        editor.picture_chosen.emit("neutral", str(pictures["cold"]))
        qtbot.waitUntil(lambda: shift() < 0, timeout=90_000)  # the rocket's blue, without a restart
        print(f"new picture on screen after {time.monotonic() - started:.2f} s")
        assert "rocket" in editor.combos["neutral"].currentText()
        assert not editor.previews["neutral"].pixmap().isNull()
        assert "neutral now takes its style from rocket.jpg" in window.statusBar().currentMessage()
        editor.picture_chosen.emit("happy", str(tmp_path / "live.json"))  # not a picture: said, nothing changed
        assert window.statusBar().currentMessage().startswith(str(tmp_path / "live.json"))
        assert "happy" not in json.loads((tmp_path / "models" / "packs" / "livepics" / "pack.json").read_text())["pictures"]
    finally:
        window.close()
