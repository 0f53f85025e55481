"""tools.soak: the real window soaked for a short while (recordings finished as regular MP4s, a CSV of resident
memory), and the growth slope and verdict on known numbers."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tools.soak.report import Sample, slope_per_minute, verdict


def _sample(minute, mb, kind="stop", pack="default", recordings=0):
    return Sample(minute, mb, 8.0, recordings, recordings, 20, float("nan"), "off", pack, "frame/stable", kind)


def test_the_slope_is_least_squares_and_ignores_one_spike():
    assert slope_per_minute([(0, 100), (1, 102), (2, 104)]) == pytest.approx(2.0)
    assert slope_per_minute([(0, 100), (1, 130), (2, 100), (3, 100)]) == pytest.approx(-3.0)
    assert slope_per_minute([(1, 5)]) == 0.0


def test_growth_is_judged_like_for_like_after_the_warm_up():
    samples = [_sample(0, 300, "interval")]  # warm-up: left out
    for minute in range(1, 21):  # 1 MB/min just after recordings with the first pack...
        samples.append(_sample(minute, 400 + minute, recordings=minute))
        samples.append(_sample(minute + 0.5, 900, "stop", pack="johnson-distilled", recordings=minute))  # ...not this
    result = verdict(samples, warmup_min=1, record_every_s=60)
    assert result.like_for_like and result.samples == 20
    assert result.slope_mb_per_min == pytest.approx(1.0) and result.hour_mb == pytest.approx(60.0)
    assert result.per_recording_mb == pytest.approx(1.0)
    assert not result.passed  # 60 MB an hour is over the 50 MB goal
    flat = [_sample(m, 400 + (m % 2) * 3, recordings=m) for m in range(1, 30)]
    assert verdict(flat, 1, 60).passed
    assert verdict([_sample(0, 1)], 1, 60) is None


def test_a_short_soak_of_the_real_window_records_and_reports(tmp_path):
    table = tmp_path / "soak.csv"
    done = subprocess.run(
        [sys.executable, "-m", "tools.soak", "--minutes", "0.6", "--record-every", "9", "--record-seconds", "4",
         "--switch-every", "20", "--interval", "6", "--warmup", "0.1", "--process-size", "128", "--csv", str(table),
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: the goal cannot be judged well in half a minute
    assert "Traceback" not in done.stderr
    rows = list(csv.DictReader(table.open()))
    assert len(rows) >= 6 and all(float(r["rss_mb"]) > 100 for r in rows)
    stops = [r for r in rows if r["kind"] == "stop"]
    assert len(stops) >= 2 and int(stops[-1]["finished"]) >= 2 and "problem:" not in done.stdout
    assert {r["pack"] for r in rows} == {"default", "johnson-distilled"}  # the switch happened
    assert "finished as regular MP4s" in done.stdout and "MB per recording" in done.stdout
    assert not list(tmp_path.glob("*.mp4"))  # each recording was checked and deleted


def test_bad_options_are_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tools.soak", "--record-every", "5", "--record-seconds", "9"],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "shorter than --record-every" in done.stderr
