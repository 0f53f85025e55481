"""Batch rendering on a real local Ray cluster (2 CPUs): a folder with a broken file, chunked vs single
render, a worker killed mid-chunk, and a re-run after Ctrl-C. Clips are short and styled at 64 px."""
from __future__ import annotations

import json
import os
import signal
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest

from emocam.batch import scratch
from emocam.batch.journal import Journal
from emocam.batch.ray_engine import KILL_ONCE_ENV
from emocam.batch.report import REPORT_NAME
from emocam.cli import main
from test_batch_clips import sample_cuts  # noqa: F401 (fixture)

ray = pytest.importorskip("ray")
FAST = ["--process-size", "64"]
FRAMES = 120  # the long clip: 4 s at 30 fps
# chunks of 1.5 s (cut at 1.5 s and 3 s), each warmed up from a keyframe at least 2 s earlier
CHUNKED = ["--chunk-seconds", "1.5", "--warmup", "2", "--workers", "2"]
FIRST_CUT = 45  # frames: 1.5 s at 30 fps


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local Ray instance for the module; the worker-kill hook's marker starts out present (disarmed)."""
    marker = tmp_path_factory.mktemp("kill") / "killed"
    marker.touch()
    os.environ[KILL_ONCE_ENV] = str(marker)  # workers inherit the environment Ray starts with
    os.environ.setdefault("RAY_worker_niceness", "0")  # Ray's default 15 starves the workers on a busy machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield marker
    ray.shutdown()
    os.environ.pop(KILL_ONCE_ENV, None)


@pytest.fixture(scope="module")
def clip_folder(sample_cuts, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in")
    for i in range(3):
        os.link(sample_cuts[f"clip{i}"], folder / f"clip{i}.mp4")
    return folder


@pytest.fixture(scope="module")
def single(sample_cuts, tmp_path_factory) -> tuple[Path, Path]:
    """The long clip rendered the ordinary way, in one process: the reference."""
    out = tmp_path_factory.mktemp("single")
    assert main(["render", str(sample_cuts["long"]), "-o", str(out / "long.mp4"), "--json",
                 str(out / "long.jsonl"), *FAST]) == 0
    return out / "long.mp4", out / "long.jsonl"


@pytest.fixture(scope="module")
def long_list(sample_cuts, tmp_path_factory) -> Path:
    """A list file naming the long clip: a batch of one."""
    listing = tmp_path_factory.mktemp("list") / "inputs.txt"
    listing.write_text(f"# the batch\n{sample_cuts['long']}\n")
    return listing


def packets(path: Path) -> dict[str, list]:
    """Per stream kind: (pts, dts) of every packet, and the bytes of audio packets."""
    found: dict[str, list] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                kind = packet.stream.type
                found[kind].append((packet.pts, packet.dts, bytes(packet) if kind == "audio" else None))
    return found


def frames_of(path: Path) -> list[np.ndarray]:
    """Every decoded frame, RGB."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def assert_matches_single(output: Path, records: Path, single: tuple[Path, Path]) -> None:
    """Same frame count, timestamps and audio packets; the same emotion on every frame."""
    # the pictures: the first chunk is the single render's, byte for byte once decoded; after a cut the two
    # differ by H.264's noise only (each chunk starts on a keyframe of its own). Without the warm-up the style
    # fade, smoothing and temporal history restart at the cut: measured 65 levels off there, 5 at the next.
    mine_frames, single_frames = frames_of(output), frames_of(single[0])
    gaps = [float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()) for a, b in zip(mine_frames, single_frames)]
    assert max(gaps[:FIRST_CUT]) < 0.05 and max(gaps) < 3.0, [round(g, 2) for g in gaps]
    got, want = packets(output), packets(single[0])
    assert len(got["video"]) == len(want["video"]) == FRAMES
    assert got["video"] == want["video"]  # pts and dts of every frame
    assert got["audio"] == want["audio"] and want["audio"]  # every audio packet, byte for byte
    mine = [json.loads(line) for line in records.read_text().splitlines()]
    theirs = [json.loads(line) for line in single[1].read_text().splitlines()]
    assert [r["index"] for r in mine] == list(range(FRAMES))
    assert [r["time"] for r in mine] == [r["time"] for r in theirs]
    assert [r["emotion"] for r in mine] == [r["emotion"] for r in theirs]
    assert [r["style_weights"] for r in mine] == [r["style_weights"] for r in theirs]
    for a, b in zip(mine, theirs):
        assert len(a["faces"]) == len(b["faces"])
        for fa, fb in zip(a["faces"], b["faces"]):  # probabilities: within the warm-up tolerance
            assert fa["emotion"] == fb["emotion"]
            assert max(abs(fa["probs"][e] - fb["probs"][e]) for e in fa["probs"]) <= 1e-3


def report(outdir: Path) -> dict:
    return json.loads((outdir / REPORT_NAME).read_text())


def test_folder_with_a_broken_file(cluster, clip_folder, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    for clip in clip_folder.iterdir():
        os.link(clip, tmp_path / "in" / clip.name)
    (tmp_path / "in" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 50)
    out = tmp_path / "out"
    assert main(["render", str(tmp_path / "in"), "-o", str(out), "--workers", "3", *FAST]) == 2
    files = {Path(f["input"]).name: f for f in report(out)["files"]}
    assert sorted(files) == ["broken.mp4", "clip0.mp4", "clip1.mp4", "clip2.mp4"]
    assert files["broken.mp4"]["status"] == "failed" and "broken.mp4" in files["broken.mp4"]["error"]
    for i in range(3):
        assert files[f"clip{i}.mp4"]["status"] == "done" and files[f"clip{i}.mp4"]["frames"] == 30
        assert len(packets(out / f"clip{i}.emocam.mp4")["video"]) == 30
    assert sorted(p.name for p in out.glob("*.mp4")) == [f"clip{i}.emocam.mp4" for i in range(3)]
    table = capsys.readouterr().out
    assert "3 of 4 files done, 1 failed" in table
    assert "2 Ray workers" in table and "room for 2" in table  # 3 asked for, 2 CPUs: never a worker left waiting


def test_chunked_render_matches_a_single_render(cluster, long_list, single, tmp_path):
    out = tmp_path / "out"
    assert main(["render", str(long_list), "-o", str(out), "--json", str(tmp_path / "records"), *CHUNKED, *FAST]) == 0
    done = report(out)
    (long,) = done["files"]
    assert long["chunks"] == 3 and long["chunks_rendered"] == 3 and long["status"] == "done"
    # the networks loaded once per worker (2), not per chunk (3)
    assert len(done["worker_load_seconds"]) == 2 and len({c["worker"] for c in long["chunk_stats"]}) <= 2
    assert_matches_single(out / "long.emocam.mp4", tmp_path / "records" / "long.emocam.jsonl", single)


def test_a_killed_worker_costs_only_its_chunk(cluster, long_list, single, tmp_path):
    cluster.unlink()  # armed: the first worker half way through a chunk SIGKILLs itself, once
    out = tmp_path / "out"
    assert main(["render", str(long_list), "-o", str(out), "--json", str(tmp_path / "records"), *CHUNKED, *FAST]) == 0
    assert cluster.exists()  # a worker really was killed
    killed = int(cluster.read_text())
    # the restarted worker removed the killed one's scratch folder (only this cluster's: other runs on the
    # machine may have dead workers of their own)
    assert list(Path(tempfile.gettempdir()).glob(f"{scratch.host_prefix()}{killed}-*")) == []
    (long,) = report(out)["files"]
    assert long["status"] == "done" and long["chunks_rendered"] == 3
    assert_matches_single(out / "long.emocam.mp4", tmp_path / "records" / "long.emocam.jsonl", single)


def test_rerun_after_ctrl_c_redoes_only_what_is_missing(cluster, clip_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    journal = out / ".emocam-batch" / "journal.json"
    args = ["render", str(clip_folder), "-o", str(out), "--chunk-seconds", "0.5", "--workers", "1", *FAST]

    def chunks_done() -> int:
        try:
            files = json.loads(journal.read_text())["files"].values()
        except (OSError, ValueError):
            return 0
        return sum(len(f["chunks"]) + 2 * (f["status"] == "done") for f in files)

    recorded = []

    def interrupting(record):
        """A real Ctrl-C (SIGINT to this process) right after the journal's second record (a chunk, or a file
        short enough to be one chunk): on the driver's own thread, so the batch cannot finish first."""
        def wrapper(self, *args, **kwargs):
            record(self, *args, **kwargs)
            recorded.append(args)
            if len(recorded) == 2:
                os.kill(os.getpid(), signal.SIGINT)
        return wrapper

    # Python's own Ctrl-C handler, as in a terminal: a CI job started in the background inherits SIGINT ignored
    # (`emocam` itself installs its handlers; this test calls main() in-process)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with monkeypatch.context() as patch:
            for name in ("chunk_done", "file_done"):
                patch.setattr(Journal, name, interrupting(getattr(Journal, name)))
            assert main(args) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    before = json.loads(journal.read_text())["files"]  # the journal is whole after the interrupt
    finished = chunks_done()
    assert 2 <= finished < 6
    first = report(out)
    assert any(f["status"] == "interrupted" for f in first["files"])

    assert main(args) == 0
    files = report(out)["files"]
    assert all(f["status"] in ("done", "skipped") for f in files)
    assert sum(f["chunks_rendered"] for f in files) == 6 - finished
    reused = sum(f["chunks_reused"] for f in files) + 2 * sum(f["status"] == "skipped" for f in files)
    assert reused == finished
    for name, entry in before.items():
        if entry["status"] == "done":
            assert next(f for f in files if f["output"].endswith(name))["status"] == "skipped"
    for i in range(3):
        assert len(packets(out / f"clip{i}.emocam.mp4")["video"]) == 30


def test_a_pack_no_worker_can_load_is_one_line(cluster, clip_folder, tmp_path, capsys):
    """A pack whose network the workers refuse (fixed input size) stops the batch with the worker's own line."""
    from fuzz.cases_models import _fixed_size_network
    from emocam.labels import EMOTIONS

    pack = tmp_path / "fixed"
    pack.mkdir()
    _fixed_size_network(pack / "fixed.onnx")
    (pack / "pack.json").write_text(json.dumps({"kind": "per_emotion", "models": {e: "fixed.onnx" for e in EMOTIONS}}))
    assert main(["render", str(clip_folder), "-o", str(tmp_path / "out"), "--pack", str(pack), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fixed.onnx" in err[0] and "of any size" in err[0] and "Ray" not in err[0]
