"""tools/bench: a tiny run prints a table with every stage and a positive fps; bad options exit 2.
Also tools.style.sheet on a toy per_emotion pack."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emocam.labels import EMOTIONS
from emocam.runtime import plan
from tools.bench import frame_loop as bench

TINY = ["--frames", "3", "--warmup", "1", "--sizes", "320x240", "--process-sizes", "128", "--devices", "cpu"]


def test_tiny_run_prints_every_stage_and_fps(capsys, tmp_path):
    md = tmp_path / "bench.md"
    assert bench.main(TINY + ["--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("device"))
    for column in ("decode ms", "detect ms", "classify ms", "stylize ms", "encode ms", "fps"):
        assert column in header
    row = next(line for line in lines if line.startswith("cpu ")).split()
    planned = plan("cpu")
    assert row[1:8] == ["auto", f"{planned.backend}/cpu/{planned.precision}", "320x240", "128", "stable", "frame", "3"]
    assert all(float(v) > 0 for v in row[8:])  # every stage took time, fps > 0
    assert out.startswith("machine: ") and "onnxruntime" in out and "processor features: " in out
    text = md.read_text()
    assert f"| cpu | auto | {planned.backend}/cpu/{planned.precision} | 320x240 | 128 | stable | frame | 3 |" in text


def test_rows_per_backend_and_precision(capsys):
    assert bench.main(TINY + ["--devices", "cpu,cpu-onnxruntime", "--precisions", "auto,fp32", "--temporal", "off"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("cpu")]
    fp32 = "openvino/cpu/fp32" if plan("cpu").backend == "openvino" else "onnxruntime/cpu/fp32"
    assert [r[:3] for r in rows] == [["cpu", "auto", f"{plan('cpu').backend}/cpu/{plan('cpu').precision}"],
                                     ["cpu", "fp32", fp32],
                                     ["cpu-onnxruntime", "auto", "onnxruntime/cpu/fp32"],
                                     ["cpu-onnxruntime", "fp32", "onnxruntime/cpu/fp32"]]


def test_each_temporal_mode_gets_a_row(capsys):
    assert bench.main(TINY + ["--temporal", "off,keyframe"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("cpu ")]
    assert [r[5] for r in rows] == ["off", "keyframe"] and all(float(r[-1]) > 0 for r in rows)


def test_each_region_mode_gets_a_row(capsys):
    assert bench.main(TINY + ["--temporal", "off", "--regions", "frame,person,background"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("cpu ")]
    assert [r[6] for r in rows] == ["frame", "person", "background"] and all(float(r[-1]) > 0 for r in rows)


def test_unavailable_device_is_listed_not_run(monkeypatch):
    def no_cuda(device, precision="auto", stage="stylize"):
        raise bench.EmocamError(f"--device {device}: CUDA is not usable here")

    monkeypatch.setattr(bench, "plan", no_cuda)
    rows = bench.run_bench(["cuda"], [(64, 48)], [64], frames=1, warmup=0, pack="default")
    assert len(rows) == 1 and rows[0].skipped.startswith("not available here")
    assert "not available here" in bench.text_table(rows)


@pytest.mark.parametrize("argv", [
    ["--sizes", "640by480"], ["--sizes", "641x480"], ["--process-sizes", "8"], ["--devices", "tpu"],
    ["--precisions", "fp16"], ["--frames", "0"], ["--pack", "no-such-pack"], ["--temporal", "smooth"], ["--regions", "faces"],
])
def test_bad_options_exit_2_with_one_line(argv, capsys):
    assert bench.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error:")


@pytest.fixture(scope="module")
def toy_pack(tmp_path_factory):
    """A per_emotion pack of tiny ONNX networks (each mixes the picture towards its own colour)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    folder = tmp_path_factory.mktemp("toy_pack")
    models = {}
    for i, emotion in enumerate(EMOTIONS):
        colour = np.array([(i * 37) % 256, (i * 91) % 256, (i * 53) % 256], np.float32).reshape(1, 3, 1, 1) / 255
        graph = helper.make_graph(
            [helper.make_node("Mul", ["image", "half"], ["scaled"]), helper.make_node("Add", ["scaled", "tint"], ["output"])],
            "toy", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])],
            [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
             helper.make_tensor("tint", TensorProto.FLOAT, [1, 3, 1, 1], (colour * 0.5).ravel().tolist())])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        onnx.save(model, folder / f"{emotion}.onnx")
        models[emotion] = f"{emotion}.onnx"
    pack = {"name": "toy", "kind": "per_emotion", "models": models, "notes": {"happy": "a toy note"}}
    (folder / "pack.json").write_text(json.dumps(pack))
    return folder


def test_bench_runs_a_per_emotion_pack(toy_pack, capsys):
    assert bench.main(TINY + ["--pack", str(toy_pack)]) == 0
    out = capsys.readouterr().out
    assert f"pack {toy_pack}" in out and float(next(l for l in out.splitlines() if l.startswith("cpu ")).split()[-1]) > 0


def test_pack_sheet_with_teacher(toy_pack, tmp_path, astronaut):
    from tools.style import sheet as pack_sheet

    sheet = pack_sheet.make_sheet(str(toy_pack), astronaut[:200, 100:300], "test", "cpu", teacher_name="default", max_width=800)
    assert sheet.shape[1] <= 800 and sheet.dtype == np.uint8
    out = tmp_path / "sheet.png"
    assert pack_sheet.main(["--pack", str(toy_pack), "--width", "600", "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000
    assert pack_sheet.main(["--pack", "no-such-pack", "-o", str(out)]) == 2


def test_quality_has_a_row_per_mode_with_fps_flicker_and_sharpness(tmp_path, capsys):
    """The real `emocam render` per mode on a real half-second clip; without --peer there is no peer row."""
    from test_batch_clips import cut_clip

    clip = cut_clip(tmp_path / "clip.mp4", 2.0, 2.5)
    md = tmp_path / "quality.md"
    assert bench.main(["--quality", "--video", str(clip), "--configs", "off@64,stable@64", "--markdown", str(md)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("machine: ") for line in lines)
    at = next(i for i, line in enumerate(lines) if line.startswith("run "))
    for column in ("fps", "flicker DIS", "flicker Farneback", "sharpness", "vs peer"):
        assert column in lines[at]
    rows = {line.split()[0]: line.split() for line in lines[at + 1:] if line.startswith(("off@", "stable@", "peer"))}
    assert sorted(rows) == ["off@64", "stable@64"]
    for row in rows.values():
        fps, flicker_dis, flicker_farneback, sharp = float(row[2]), float(row[7]), float(row[8]), float(row[9])
        assert fps > 0 and flicker_dis > 0 and flicker_farneback > 0 and sharp > 0
        assert row[1] == f"{plan('cpu').backend}/cpu/{plan('cpu').precision}"  # what ran the style network
        assert row[5] == row[6] == row[10] == "-"  # no peer, no ratios to it
    assert float(rows["stable@64"][7]) < float(rows["off@64"][7])  # the stable mode flickers less, DIS flow
    assert float(rows["stable@64"][8]) < float(rows["off@64"][8])  # and Farneback flow
    assert "| stable@64 |" in md.read_text()


def test_quality_with_a_missing_peer_is_one_line(capsys):
    assert bench.main(["--quality", "--peer", "/no/such/styletransfer-lite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error: --peer")


def test_network_bench_times_the_folded_network_against_the_file(capsys):
    assert bench.main(["--network", "--sizes", "64x48,96x64", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    rows = [line.split() for line in out.splitlines() if line.startswith(("64x48", "96x64"))]
    assert len(rows) == 2
    for _, file_ms, loaded_ms, speedup, diff in rows:
        assert float(file_ms) > 0 and float(loaded_ms) > 0 and float(speedup.rstrip("x")) > 0
        assert float(diff) < 1e-4  # the fold changes nothing beyond float rounding


@pytest.mark.parametrize("argv", [["--sizes", "10x10"], ["--sizes", "abc"], ["--runs", "0"],
                                  ["--model", "emotion_fer_minixception.onnx"]])
def test_network_bench_bad_options_exit_2(argv, capsys):
    assert bench.main(["--network"] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_backends_rows_per_runtime_with_psnr(capsys):
    assert bench.main(["--backends", "--networks", "multistyle26", "--sizes", "96x64", "--runs", "1"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| multistyle26")]
    assert rows[0][2] == "cpu fp32 (onnxruntime)" and rows[0][4] == "1.00x"
    ran = [r[2] for r in rows]
    if plan("cpu").backend == "openvino":
        assert "cpu fp32 (openvino)" in ran and f"cpu {plan('cpu').precision} (openvino)" in ran
        assert all(float(r[5].split()[0]) >= 40 for r in rows[1:])  # PSNR against onnxruntime fp32, dB


@pytest.mark.parametrize("argv", [["--networks", "vgg"], ["--sizes", "10x10"], ["--runs", "0"]])
def test_backends_bad_options_exit_2_with_one_line(argv, capsys):
    assert bench.main(["--backends", *argv]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_gpu_check_without_cuda_is_one_line(capsys):
    from emocam.modelstore.runtime import cuda_status
    from tools.bench import gpu_check

    if cuda_status()[0]:
        pytest.skip("CUDA is usable here: run python -m tools.bench.gpu_check itself")
    assert gpu_check.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpu_check: error: CUDA is not usable here")
