"""The --json record format: versioned, the same keys in every mode, each record valid against its JSON Schema.

Real pixels: Megamind.avi's motion (opencv-doc) as a short clip, and the astronaut's portrait as a picture.
"""
from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
from pathlib import Path

import cv2
import jsonschema
import pytest

from damaged_avi import MEGAMIND, damaged_avi
from emocam.cli import main

SCHEMA = json.loads(importlib.resources.files("emocam").joinpath("data", "frame_record.schema.json").read_text())


def render(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "emocam", "render", *args, "--process-size", "96", "--device", "cpu"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def by_mode(tmp_path_factory, astronaut) -> dict[str, list[dict]]:
    """Records of each mode: a video (whole frame, keyframe engine), a picture with --regions person, pictures with
    an expression edit, and a batch's joined records."""
    if not MEGAMIND.is_file():
        pytest.skip("needs Debian's opencv-doc (Megamind.avi)")
    tmp = tmp_path_factory.mktemp("records")
    clip = damaged_avi(tmp / "clip.avi", "none", frames=24)
    photos = tmp / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.png"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    render(str(clip), "-o", str(tmp / "v.mp4"), "--json", str(tmp / "v.jsonl"), "--temporal", "keyframe", "--regions", "frame")
    render(str(photos / "astronaut.png"), "-o", str(tmp / "p.png"), "--json", str(tmp / "p.jsonl"), "--regions", "person")
    render(str(photos), "-o", str(tmp / "e"), "--json", str(tmp / "e.jsonl"), "--expression", "happy")
    clip2 = tmp / "clip2.avi"
    clip2.write_bytes(clip.read_bytes())
    sys.modules["ray"] = None  # the local engine (the records come from the same chunk code as on Ray)
    try:
        assert main(["render", str(clip), str(clip2), "-o", str(tmp / "b"), "--json", str(tmp / "bj"),
                     "--process-size", "96", "--device", "cpu"]) == 0
    finally:
        sys.modules.pop("ray")
    return {"video": records(tmp / "v.jsonl"), "person": records(tmp / "p.jsonl"),
            "expression": records(tmp / "e.jsonl"), "batch": records(tmp / "bj" / "clip.emocam.jsonl")}


def test_every_record_of_every_mode_is_valid(by_mode):
    for mode, rows in by_mode.items():
        assert rows, mode
        for row in rows:
            jsonschema.validate(row, SCHEMA)


def test_the_same_keys_in_every_mode(by_mode):
    firsts = {mode: rows[0] for mode, rows in by_mode.items()}
    keys = {mode: sorted(row) for mode, row in firsts.items()}
    assert len({tuple(k) for k in keys.values()}) == 1, keys
    face_keys = {mode: tuple(sorted(face)) for mode, rows in by_mode.items() for row in rows for face in row["faces"]}
    assert set(face_keys) >= {"person", "expression"} and len(set(face_keys.values())) == 1, face_keys


def test_each_mode_says_what_it_did(by_mode):
    assert by_mode["person"][0]["regions"] == "person" and by_mode["person"][0]["faces"][0]["style"]
    assert by_mode["video"][0]["regions"] == "frame" and by_mode["video"][0]["faces"] == [] or \
        by_mode["video"][0]["faces"][0]["style"] is None
    assert any(not row["keyframe"] for row in by_mode["video"])  # the keyframe engine carried frames along
    edit = by_mode["expression"][0]["faces"][0]["expression"]
    assert edit["applied"] == "happy" and edit["strength"] > 0
    assert all(row["networks"]["stylize"] for rows in by_mode.values() for row in rows)


def test_a_record_that_breaks_the_format_is_refused_by_the_schema(by_mode):
    """The schema can fail: a record missing a key, or with one from another mode's old format, is invalid."""
    row = dict(by_mode["video"][0])
    row.pop("temporal_reset")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(row, SCHEMA)
    old = dict(by_mode["video"][0], info={"keyframe": True})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(old, SCHEMA)
