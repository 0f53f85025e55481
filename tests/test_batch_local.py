"""Batch rendering without Ray (one file after another in this process), inputs, names and the journal."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from emocam.batch.inputs import expand, output_names, wants_batch
from emocam.batch.journal import Journal, sha256
from emocam.batch.report import REPORT_NAME
from emocam.cli import build_parser, main
from test_batch_clips import sample_cuts  # noqa: F401 (fixture)

FAST = ["--process-size", "64"]


@pytest.fixture
def no_ray(monkeypatch):
    """As if the [cluster] extra were not installed."""
    monkeypatch.setitem(sys.modules, "ray", None)


@pytest.fixture
def folder(sample_cuts, tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        os.link(sample_cuts[f"clip{i}"], folder / f"clip{i}.mp4")
    (folder / "notes.txt").write_text("not a video, not picked up by a folder scan")
    (folder / "broken.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  " + b"\x01" * 300)
    return folder


def test_without_ray_files_render_one_after_another(no_ray, folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["render", str(folder), "-o", str(out), *FAST]) == 2
    captured = capsys.readouterr()
    assert 'pip install -e ".[cluster]"' in captured.err
    assert "2 of 3 files done, 1 failed" in captured.out and "no Ray" in captured.out
    files = {Path(f["input"]).name: f for f in json.loads((out / REPORT_NAME).read_text())["files"]}
    assert files["broken.mov"]["status"] == "failed" and files["broken.mov"]["error"]
    assert files["clip0.mp4"] | {"seconds": 0, "fps": 0} == files["clip0.mp4"] | {
        "status": "done", "frames": 30, "chunks": 1, "chunks_rendered": 1, "seconds": 0, "fps": 0}
    from browser_video import assert_regular_mp4

    assert_regular_mp4(out / "clip0.emocam.mp4")  # a joined file is finished: its index at the front

    # a second run finds everything finished (frame count and checksum) and renders nothing
    (out / "clip1.emocam.mp4").write_bytes((out / "clip1.emocam.mp4").read_bytes()[:-100])  # damaged since
    assert main(["render", str(folder), "-o", str(out), *FAST]) == 2
    files = {Path(f["input"]).name: f for f in json.loads((out / REPORT_NAME).read_text())["files"]}
    assert files["clip0.mp4"]["status"] == "skipped" and files["clip0.mp4"]["chunks_rendered"] == 0
    assert files["clip1.mp4"]["status"] == "done" and files["clip1.mp4"]["chunks_rendered"] == 1
    journal = Journal(out)
    assert journal.files["clip1.emocam.mp4"]["sha256"] == sha256(out / "clip1.emocam.mp4")


def test_an_output_not_made_by_the_batch_is_never_overwritten(no_ray, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip0.emocam.mp4").write_bytes(b"precious")
    assert main(["render", str(folder / "clip0.mp4"), str(folder / "clip1.mp4"), "-o", str(out), *FAST]) == 2
    assert (out / "clip0.emocam.mp4").read_bytes() == b"precious"
    files = {Path(f["input"]).name: f for f in json.loads((out / REPORT_NAME).read_text())["files"]}
    assert "not made by this batch" in files["clip0.mp4"]["error"] and files["clip1.mp4"]["status"] == "done"


def test_inputs_from_folders_globs_and_lists(folder, tmp_path):
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# two clips\n\nin/clip1.mp4\n{folder / 'clip0.mp4'}\n")
    (folder / "clip0.emocam.mp4").write_bytes(b"an earlier output: never an input")
    assert expand([str(folder)]) == [folder / "broken.mov", folder / "clip0.mp4", folder / "clip1.mp4"]
    assert expand([str(folder / "clip*.mp4")]) == [folder / "clip0.mp4", folder / "clip1.mp4"]
    assert expand([str(listing), str(folder / "clip0.mp4")]) == [tmp_path / "in/clip1.mp4", folder / "clip0.mp4"]
    assert wants_batch([str(listing)]) and wants_batch([str(folder)]) and wants_batch(["a.mp4", "b.mp4"])
    assert not wants_batch([str(folder / "clip0.mp4")]) and not wants_batch([])
    names = output_names([Path("a/x.mp4"), Path("b/x.mov"), Path("c/y.mp4")])
    assert names[Path("c/y.mp4")] == "y.emocam.mp4"
    assert len({names[Path("a/x.mp4")], names[Path("b/x.mov")]}) == 2
    assert all(n.startswith("x.") and n.endswith(".emocam.mp4") for n in (names[Path("a/x.mp4")], names[Path("b/x.mov")]))


def test_one_input_keeps_the_single_render(tmp_path):
    args = build_parser("render").parse_args(["render"])
    assert args.input == [] and args.workers is None  # no input: the bundled clip, rendered as before


@pytest.mark.parametrize("extra, message", [
    ([], "several inputs need -o OUTDIR"),
    (["-o", "OUT", "--workers", "0"], "--workers must be at least 1"),
    (["-o", "OUT", "--chunk-seconds", "nan"], "--chunk-seconds must be above 0"),
])
def test_bad_batch_options_are_one_line(extra, message, folder, tmp_path, capsys):
    extra = [str(tmp_path / e) if e == "OUT" else e for e in extra]
    assert main(["render", str(folder / "clip0.mp4"), str(folder / "clip1.mp4"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_ray_address_without_ray_and_json_file_are_one_line(no_ray, folder, tmp_path, capsys):
    clips = [str(folder / "clip0.mp4"), str(folder / "clip1.mp4")]
    assert main(["render", *clips, "-o", str(tmp_path / "o"), "--ray-address", "auto"]) == 2
    assert main(["render", *clips, "-o", str(tmp_path / "o"), "--json", str(folder / "notes.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--ray-address needs Ray" in err[0] and "--json" in err[1] and "folder" in err[1]


def test_workers_sized_to_the_machine():
    from emocam.batch.ray_engine import default_workers

    assert default_workers({"CPU": 2.0, "memory": 17e9}, "auto") == (1, False)
    assert default_workers({"CPU": 16.0, "memory": 128e9, "GPU": 2.0}, "auto") == (2, True)  # one per GPU
    assert default_workers({"CPU": 16.0, "memory": 128e9, "GPU": 2.0}, "cpu") == (8, False)
    assert default_workers({"CPU": 64.0, "memory": 6e9}, "auto") == (4, False)  # memory allows only 4


def test_a_truncated_video_fails_like_a_single_render(no_ray, sample_clip, folder, tmp_path):
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(sample_clip.read_bytes()[: sample_clip.stat().st_size * 6 // 10])
    out = tmp_path / "out"
    assert main(["render", str(truncated), str(folder / "clip0.mp4"), "-o", str(out), *FAST]) == 2
    files = {Path(f["input"]).name: f for f in json.loads((out / REPORT_NAME).read_text())["files"]}
    assert files["truncated.mp4"]["status"] == "failed" and "truncated" in files["truncated.mp4"]["error"]
    assert files["clip0.mp4"]["status"] == "done" and not (out / "truncated.emocam.mp4").exists()


def test_a_changed_setting_renders_finished_files_again(no_ray, folder, tmp_path):
    clips = [str(folder / "clip0.mp4"), str(folder / "clip1.mp4")]
    out = tmp_path / "out"
    assert main(["render", *clips, "-o", str(out), *FAST]) == 0
    first = (out / "clip0.emocam.mp4").read_bytes()
    assert main(["render", *clips, "-o", str(out), *FAST, "--strength", "0.3"]) == 0
    files = json.loads((out / REPORT_NAME).read_text())["files"]
    assert [f["status"] for f in files] == ["done", "done"] and all(f["chunks_rendered"] == 1 for f in files)
    assert (out / "clip0.emocam.mp4").read_bytes() != first
