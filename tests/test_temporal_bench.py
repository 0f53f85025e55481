"""tools.temporal.bench --pans: each mode on a camera pan against its perfectly stable result."""
from __future__ import annotations

import json

import pytest

from pan_photos import needs_pan_photos
from tools.temporal import bench as temporal_bench


@needs_pan_photos
def test_pans_report_flicker_over_the_oracle_and_sharpness(tmp_path, capsys):
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    assert temporal_bench.main(["--clips", "", "--configs", "off@full,texture@full", "--pans", "3x1",
                                "--json", str(out), "--markdown", str(md)]) == 0
    (pan,) = json.loads(out.read_text())["clips"]["pans"]
    rows = pan["rows"]
    assert pan["step"] == [3, 1] and list(rows) == ["oracle", "off@full", "texture@full"]
    assert rows["oracle"]["over_oracle_dis"] == pytest.approx(1.0)
    assert rows["off@full"]["over_per_frame_farneback"] == pytest.approx(1.0)
    # per-frame styling flickers many times the oracle; texture carries one copy: far steadier, still sharp
    assert rows["off@full"]["over_oracle_dis"] > 10
    texture = rows["texture@full"]
    assert texture["over_per_frame_dis"] < 0.3 and texture["over_per_frame_farneback"] < 0.3
    assert texture["sharpness"] > 0.8
    assert "| texture@full |" in md.read_text() and "pan 3x1 texture@full" in capsys.readouterr().out


@pytest.mark.parametrize("pans", ["3", "9x1", "0x0", "8x1"])
def test_bad_pans_are_one_line_and_exit_2(pans, capsys):
    assert temporal_bench.main(["--clips", "", "--configs", "off@64", "--pans", pans]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tools.temporal.bench: error: --pans")
