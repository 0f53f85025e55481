"""tools.temporal.peer_floor: on a slow pan even a perfectly stable output keeps much of the peer's flicker."""
from __future__ import annotations

import json

import pytest

from pan_photos import needs_pan_photos
from tools.temporal import peer_floor


@needs_pan_photos
def test_slow_pans_have_a_floor_that_fast_pans_do_not(tmp_path, capsys):
    out = tmp_path / "floor.json"
    assert peer_floor.main(["--photos", "graf1.png", "--steps", "0.37x0.13,3x1", "--blurs", "0,0.5",
                            "--frames", "10", "--json", str(out)]) == 0
    slow, slow_soft, fast, fast_soft = json.loads(out.read_text())
    assert [r["step"] for r in (slow, fast)] == [[0.37, 0.13], [3, 1]] and slow_soft["blur"] == 0.5
    # perfectly stable and sharp, yet over the 0.35x of per-frame flicker on the slow pan ...
    assert slow["sharpness"] > peer_floor.SHARPNESS_GOAL and not peer_floor.meets_goal(slow)
    assert min(slow["flicker_dis"], slow["flicker_farneback"]) > 0.45
    # ... while on the fast whole-pixel pan the same oracle is far under it
    assert peer_floor.meets_goal(fast) and fast["flicker_dis"] < 0.15
    # softening lowers flicker and sharpness together
    for sharp, soft in ((slow, slow_soft), (fast, fast_soft)):
        assert soft["flicker_dis"] < sharp["flicker_dis"] and soft["sharpness"] < 0.6 * sharp["sharpness"]
    assert "| graf1.png | 19 | 0.37 x 0.13 | 0 |" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--steps", "0x0"], ["--steps", "9x1"], ["--steps", "fast"], ["--blurs", "-1"],
                                  ["--blurs", "a"], ["--style", "26"], ["--photos", "nope.jpg"], ["--frames", "2"],
                                  ["--steps", "3x3", "--frames", "100"]])
def test_bad_options_are_one_line_and_exit_2(argv, capsys):
    assert peer_floor.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tools.temporal.peer_floor: error:")
