"""tools.temporal.floor: a perfectly stable stylization's flicker on a real pan falls with its texture."""
from __future__ import annotations

import json

import pytest

from pan_photos import needs_pan_photos
from tools.temporal import floor as temporal_floor


@needs_pan_photos
def test_less_texture_is_less_flicker_and_less_sharpness(tmp_path, capsys):
    out = tmp_path / "floor.json"
    assert temporal_floor.main(["--photos", "graf1.png", "--styles", "19", "--sizes", "full,256",
                                "--json", str(out)]) == 0
    full, small = json.loads(out.read_text())
    assert (full["size"], small["size"]) == ("full", 256)
    # stylized once and cut, both are perfectly stable: only their texture differs
    assert small["sharpness"] < 0.2 < 0.8 < full["sharpness"]
    assert small["flicker_dis"] < full["flicker_dis"] and small["flicker_farneback"] < full["flicker_farneback"]
    # with style 19's full texture even the perfect result is over the issue's 4x by Farneback
    assert full["flicker_farneback"] > temporal_floor.GOAL
    text = capsys.readouterr().out
    assert "\nmachine: " in text and "| graf1.png | 19 | full |" in text


@pytest.mark.parametrize("argv", [["--styles", "26"], ["--styles", "x"], ["--sizes", "8"], ["--sizes", ""],
                                  ["--photos", "nope.jpg"]])
def test_bad_options_are_one_line_and_exit_2(argv, capsys):
    assert temporal_floor.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tools.temporal.floor: error:")
