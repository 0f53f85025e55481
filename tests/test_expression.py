"""Expression editing on real faces: the mesh, the edit's reach, the classifier's reading, the CLI and bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.settings import Settings, SettingsFile, check_value


def grace_hopper() -> np.ndarray:
    """Grace Hopper (matplotlib's sample photo): a real face at rest."""
    import matplotlib

    bgr = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def stage():
    from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier
    from emocam.modelstore.manifest import find_model
    from emocam.pipeline.expression import ExpressionEditor
    from emocam.pipeline.faces import FaceDetector

    detector = FaceDetector("short", 0.5, video_mode=False)
    yield detector, ExpressionEditor("happy", 1.0, "", video_mode=False), EmotionClassifier(
        find_model(DEFAULT_EMOTION_MODEL), "cpu", 0.1)
    detector.close()


def test_mesh_follows_a_real_face(stage, astronaut):
    detector, editor, _ = stage
    face = detector.detect(astronaut)[0]
    mesh = editor.mesher.detect(astronaut, face.box, face.keypoints)
    assert mesh.presence > 0.9 and mesh.points.shape == (468, 3)
    x0, y0, x1, y1 = face.box
    w = x1 - x0
    nose, chin = mesh.xy[1], mesh.xy[152]
    assert x0 < nose[0] < x1 and y0 < nose[1] < y1  # the nose tip inside the detector's box
    assert chin[1] > nose[1] + 0.3 * w  # the chin well below it
    from emocam.pipeline.mesh import crop_transform

    blank = editor.mesher.mesh(np.full_like(astronaut, 128), crop_transform((100, 100, 300, 300), None))
    assert blank.presence < 0.5  # no face in a grey picture


def test_happy_edit_stays_on_the_face_and_reads_happier(stage):
    detector, editor, classifier = stage
    image = grace_hopper()
    face = detector.detect(image)[0]
    editor.mode, editor.strength = "happy", 1.0
    f = replace(face, track_id=None)
    out = editor.edit(image, [f], 0.0)
    assert f.expression["applied"] == "happy" and f.expression["strength"] == 1.0
    assert f.expression.get("limited_to", 1.0) >= 0.5  # the fold guard may hold a broad smile back, not undo it
    mesh = editor.mesher.detect(image, face.box, face.keypoints)
    (lx, ly), (hx, hy) = mesh.xy.min(0), mesh.xy.max(0)
    cx, cy, hw, hh = (lx + hx) / 2, (ly + hy) / 2, (hx - lx) * 0.7, (hy - ly) * 0.7
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    outside = (np.abs(xx - cx) > hw + 1) | (np.abs(yy - cy) > hh + 1)
    changed = np.any(out != image, axis=2)
    assert not changed[outside].any()  # nothing outside 1.4x the face box
    assert changed[~outside].mean() > 0.05
    before = classifier.classify(image, [face.box])[0][EMOTIONS.index("happy")]
    again = detector.detect(out)
    assert again, "the edited face is still a face"
    after = classifier.classify(out, [again[0].box])[0][EMOTIONS.index("happy")]
    assert after > before + 0.3


def test_mesh_runtimes_agree_on_a_real_face(stage, astronaut):
    """The mesh runs on OpenVINO where it is installed: its points match onnxruntime's fp32 on a real face."""
    from emocam.modelstore.manifest import find_model
    from emocam.pipeline.mesh import CROP, MESH_MODEL, mesh_transform_from_points
    from emocam.runtime import load_network

    detector, editor, _ = stage
    face = detector.detect(astronaut)[0]
    mesh = editor.mesher.detect(astronaut, face.box, face.keypoints)
    crop = cv2.warpAffine(astronaut, mesh_transform_from_points(mesh.xy), (CROP, CROP),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    ours, presence = editor.mesher.run_crop(crop)
    ort = load_network(find_model(MESH_MODEL), "cpu", "fp32", stage="mesh", threads=1)
    out = ort.run({ort.inputs[0].name: (crop.astype(np.float32) / 255)[None]})
    theirs = max(out, key=lambda a: a.size).reshape(-1, 3)
    assert presence > 0.9
    assert np.abs(ours[:, :2] - theirs[:, :2]).max() < 0.01  # crop pixels


def test_small_and_edge_faces_do_not_break(stage, astronaut):
    detector, editor, _ = stage
    editor.mode = "surprise"
    edge = np.ascontiguousarray(astronaut[40:260, 190:420])  # the face cut by the frame's left edge
    for image in (edge, cv2.resize(astronaut, (96, 96)), cv2.resize(astronaut, (2048, 2048))):
        faces = [replace(f, track_id=None) for f in detector.detect(image)]
        out = editor.edit(image, faces, 0.0)
        assert out.shape == image.shape
        for f in faces:
            assert f.expression and ("applied" in f.expression or "skipped" in f.expression)


def test_one_euro_steadies_jitter():
    from emocam.pipeline.mesh import OneEuro

    rng = np.random.default_rng(0)
    f = OneEuro(min_cutoff=1.5, beta=0.0)
    raw = 100 + rng.normal(0, 2, (60, 4))
    out = np.array([f(x, k / 30) for k, x in enumerate(raw)])
    assert out[20:].std() < raw[20:].std() / 2


def test_settings_schema():
    with pytest.raises(EmocamError, match="--expression-strength"):
        check_value("expression_strength", 1.6)
    with pytest.raises(EmocamError, match="--expression must be one of"):
        check_value("expression", "joy")
    assert check_value("expression", "mirror") == "mirror"


def test_saved_settings_keep_the_expression(tmp_path):
    file = SettingsFile(tmp_path / "live.json")
    s = Settings.for_surface("live")
    s.expression, s.expression_strength = "amplify", 0.7
    file.save(s)
    back = file.load()
    assert (back.expression, back.expression_strength) == ("amplify", 0.7)


def emocam(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emocam", *args], capture_output=True, text=True, timeout=300)


def test_render_commands(tmp_path, astronaut):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "hopper.png"), cv2.cvtColor(grace_hopper(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "blank.png"), np.full((120, 160, 3), 90, np.uint8))
    source = tmp_path / "astronaut.png"
    cv2.imwrite(str(source), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))

    r = emocam("render", str(folder), "-o", str(tmp_path / "happy"), "--strength", "0", "--expression", "happy",
               "--json", str(tmp_path / "happy.jsonl"))
    assert r.returncode == 0, r.stderr
    edited = cv2.imread(str(tmp_path / "happy" / "hopper.png"))
    assert edited is not None and np.abs(edited.astype(int) - cv2.imread(str(folder / "hopper.png"))).max() > 40
    records = [json.loads(line) for line in (tmp_path / "happy.jsonl").read_text().splitlines()]
    applied = [f["expression"] for rec in records for f in rec["faces"]]
    assert any(a.get("applied") == "happy" and a.get("strength") == 1.0 for a in applied)

    r = emocam("render", str(folder), "-o", str(tmp_path / "moved"), "--strength", "0", "--expression-from",
               str(source))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "moved" / "hopper.png").is_file()

    r = emocam("render", str(folder), "-o", str(tmp_path / "none"), "--strength", "0", "--expression-from",
               str(folder / "blank.png"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "no face found" in r.stderr


def test_pipeline_mirror_and_apply(astronaut):
    """Two real faces: mirror gives the smaller the larger's expression; settings changes take effect once."""
    from emocam.pipeline.pipeline import Pipeline

    small = cv2.resize(grace_hopper(), (256, 300))
    frame = np.zeros((512, 512 + 256, 3), np.uint8)
    frame[:, :512] = astronaut
    frame[100:400, 512:] = small
    settings = Settings(device="cpu", strength=0.0, expression="mirror")
    pipeline = Pipeline(settings, video_mode=False)
    try:
        result = pipeline.process(frame, 0.0)
        applied = sorted(f.expression["applied"] for f in result.faces)
        assert applied == ["mirror", "mirror source"]
        source = max(result.faces, key=lambda f: f.area)
        other = min(result.faces, key=lambda f: f.area)
        assert source.expression["applied"] == "mirror source"  # the largest face leads
        for face, same in ((source, True), (other, False)):
            x0, y0, x1, y1 = (int(v) for v in face.box)
            assert np.array_equal(result.output[y0:y1, x0:x1], frame[y0:y1, x0:x1]) == same
        pipeline.apply(replace(settings, expression="off"))
        assert pipeline.expression is None
        assert np.array_equal(pipeline.process(frame, 1.0).output, frame)
        pipeline.apply(replace(settings, expression="sad", expression_strength=0.5))
        assert {f.expression["applied"] for f in pipeline.process(frame, 2.0).faces} == {"sad"}
        with pytest.raises(EmocamError):
            pipeline.apply(replace(settings, expression_from="/no/such/picture.png"))
        assert pipeline.settings.expression == "sad"  # a refused change leaves the pipeline as it was
    finally:
        pipeline.close()


def test_mesh_reconversion_is_byte_identical(tmp_path):
    """The bundled face mesh ONNX is what converting the wheel's tflite gives, byte for byte (twice in one process:
    tf2onnx's merged nodes once took varying names)."""
    pytest.importorskip("tf2onnx")
    from emocam.modelstore.convert_mesh import convert_face_mesh
    from emocam.modelstore.manifest import find_model, manifest_entry, sha256_file

    tflite = find_model("face_landmark.tflite")
    for k in range(2):
        out = tmp_path / f"mesh{k}.onnx"
        assert convert_face_mesh(tflite, out, log=lambda line: None) < 2e-3
        assert sha256_file(out) == manifest_entry("face_landmark.onnx")["sha256"]


def test_tracked_meshes_run_while_the_detector_runs(sample_clip, monkeypatch):
    """On video, a tracked face's mesh needs only the frame and the track's last mesh: it runs on a helper thread
    while the detector looks for this frame's faces, and the edited frames are the same as one after the other."""
    import av
    from rendezvous import Rendezvous

    import emocam.pipeline.expression as expression
    from emocam.pipeline.pipeline import Pipeline

    with av.open(str(sample_clip)) as container:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(12), container.decode(video=0))]
    real_started = expression.started
    point = Rendezvous()  # met only by a prefetch and a detection running at the same time
    meet, met = point.meet, point.met

    def edited(overlap: bool) -> list[np.ndarray]:
        if overlap:
            monkeypatch.setattr(expression, "started", lambda call: real_started(lambda: (meet(), call())[1]))
        else:  # one after the other
            monkeypatch.setattr(expression, "started", lambda call: (lambda result=call(): result))
        pipeline = Pipeline(Settings(process_size=64, expression="happy"), video_mode=True)
        detect = pipeline.networks.detector.detect

        def detecting(*args, **kwargs):
            if overlap and pipeline.expression._prefetch is not None:  # this frame's meshes are on their way
                meet()
            return detect(*args, **kwargs)

        monkeypatch.setattr(pipeline.networks.detector, "detect", detecting)
        try:
            return [pipeline.process(f, i / 30).output for i, f in enumerate(frames)]
        finally:
            pipeline.close()

    prefetched = edited(overlap=True)
    assert len(met) >= 2 * (len(frames) - 2) and all(met)  # every frame once a face is tracked: both at once
    serial = edited(overlap=False)
    assert all(np.array_equal(a, b) for a, b in zip(prefetched, serial))
    assert any(not np.array_equal(a, b) for a, b in zip(prefetched, frames))  # the faces really were edited
