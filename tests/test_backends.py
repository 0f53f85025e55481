"""The runtimes behind `emocam.runtime`: what ran is what is reported, fast precisions stay close to fp32 on real
pixels, models are prepared and compiled once per sha256, and a device that does not work is refused in one line."""
from __future__ import annotations

import json
import shutil

import av
import cv2
import numpy as np
import pytest

from emocam.cli import main
from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model, sha256_file
from emocam.packs.pictures import ENCODER, transform, transform_network
from emocam.pipeline.style import Stylizer
from emocam.packs.registry import load_pack
from emocam.runtime import Network, cache, load_network, plan
from emocam.runtime import openvino as ov_backend

# The floors the fast precisions keep against onnxruntime fp32, on real pixels (measured minimum in brackets,
# docs/backends.md): the style networks in bf16 40 dB (43), in forced fp32 60 dB (71); Magenta's transform is an
# int8-quantized graph, and OpenVINO's int8 kernels round it differently from onnxruntime's: 30 dB (33).
BF16_FLOOR_DB, FP32_FLOOR_DB, QUANTIZED_FLOOR_DB = 40.0, 60.0, 30.0
needs_openvino = pytest.mark.skipif("cpu" not in ov_backend.devices(), reason="OpenVINO is not installed here")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


@pytest.fixture(scope="module")
def pictures(astronaut, sample_clip) -> dict[str, np.ndarray]:
    """Two real pictures: the astronaut portrait and the first frame of the bundled clip (640x480)."""
    with av.open(str(sample_clip)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return {"astronaut": astronaut[64:448], "clip": frame}  # both 4:3: one compiled shape per network


@needs_openvino
@pytest.mark.parametrize("pack_name", ["default", "johnson-distilled"])
def test_every_style_network_stays_within_its_floor_of_fp32(pack_name, pictures):
    pack = load_pack(pack_name)
    reference, fast = Stylizer(pack, "cpu-onnxruntime"), Stylizer(pack, "cpu")
    forced = Stylizer(pack, "cpu", "fp32") if pack_name == "default" else None  # the same path for every kind
    native = ov_backend.native_precision("cpu")
    assert (fast.ran.backend, fast.ran.precision) == ("openvino", native)
    assert forced is None or (forced.ran.backend, forced.ran.precision) == ("openvino", "fp32")
    assert str(reference.ran) == "cpu fp32 (onnxruntime)"
    floor = BF16_FLOOR_DB if native == "bf16" else FP32_FLOOR_DB
    for emotion in EMOTIONS:  # multistyle: each emotion's style; per_emotion: each of the seven networks
        weights = np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]
        for name, image in pictures.items():
            if pack_name != "default" and name != "clip":  # seven networks: each on the clip's real frame
                continue
            want = reference.stylize(image, weights, 320, 1.0)
            got = fast.stylize(image, weights, 320, 1.0)
            assert psnr(want, got) >= floor, (pack_name, emotion, name, psnr(want, got))
            if forced is not None:
                assert psnr(want, forced.stylize(image, weights, 320, 1.0)) >= FP32_FLOOR_DB, (pack_name, emotion)
            assert psnr(want, image) < 25  # and the style really changed the picture


@needs_openvino
def test_pictures_transform_stays_within_its_floor(pictures):
    import skimage.data

    path = find_model("arbitrary_transform.onnx")
    reference, fast = transform_network(path, "cpu-onnxruntime"), transform_network(path, "cpu")
    assert fast.ran.backend == "openvino" and fast.ran.precision == "int8"  # its quantized layers, whatever asked
    x = pictures["clip"].transpose(2, 0, 1)[None].astype(np.float32) / 255
    for style in (skimage.data.coffee(), skimage.data.chelsea()):
        vector = ENCODER.encode(style)
        out = [(np.clip(transform(n, x, vector)[0].transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)
               for n in (reference, fast)]
        assert psnr(*out) >= QUANTIZED_FLOOR_DB


def test_plan_names_what_runs_and_refuses_what_does_not_work():
    assert plan("cpu-onnxruntime") == plan("cpu", stage="classify")
    assert plan("cpu-onnxruntime").backend == "onnxruntime"
    if "cpu" in ov_backend.devices():
        assert plan("cpu", "fp32").precision == "fp32" and plan("cpu").backend == "openvino"
    if "intel-gpu" not in ov_backend.devices():
        with pytest.raises(EmocamError, match="^--device intel-gpu: .*use --device cpu or auto$"):
            plan("intel-gpu")
    for device, precision in (("tpu", "auto"), ("cpu", "fp16")):
        with pytest.raises(EmocamError, match="choose one of"):
            plan(device, precision)


@needs_openvino
def test_each_runtime_gets_the_norms_the_way_it_runs_them_fastest(astronaut):
    """onnxruntime: the spelled-out norms folded into InstanceNormalization (6-23% faster there); OpenVINO: as
    spelled out, which it fuses itself (30 vs 36 ms at 640x480 bf16, docs/backends.md), the same output."""
    source = find_model("multistyle26.onnx")
    assert cache.prepared(source) != source  # folded for onnxruntime
    assert cache.prepared(source, fold_norms=False) == source  # nothing else to prepare: the file itself
    network = load_network(source, "cpu")
    assert not any(op.get_type_name() == "MVN" for op in network.model.get_ops())
    small = cv2.resize(astronaut, (160, 120), interpolation=cv2.INTER_AREA)
    image = np.ascontiguousarray(small.transpose(2, 0, 1)[None], np.float32) / 255.0
    feed = {"image": image, "style_weights": np.eye(26, dtype=np.float32)[19]}
    fp32 = load_network(source, "cpu", "fp32").run(feed)[0]
    reference = load_network(source, "cpu-onnxruntime").run(feed)[0]
    assert np.abs(fp32 - reference).max() < 1e-3


@needs_openvino
def test_openvino_samples_the_norm_statistics_only_at_large_sizes(pictures):
    """At 640x480 each norm's mean and variance come from every third row and column (15% faster, 24.5 vs 29 ms
    in bf16, docs/backends.md), at the cost of PSNR 56 against the exact network: far below what bf16 itself
    costs (45). At 320x240 the network is exact."""
    source = find_model("multistyle26.onnx")
    assert cache.prepared(source, fold_norms=False, sample_stats=True) != source
    exact = ov_backend.core().compile_model(str(source), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    sampled = load_network(source, "cpu", "fp32")
    for size, (low, high) in {(640, 480): (50.0, 80.0), (320, 240): (80.0, np.inf)}.items():
        image = cv2.resize(pictures["clip"], size, interpolation=cv2.INTER_AREA)
        feed = {"image": np.ascontiguousarray(image.transpose(2, 0, 1)[None], np.float32) / 255.0,
                "style_weights": np.eye(26, dtype=np.float32)[19]}
        want, got = (np.clip(out[0].transpose(1, 2, 0), 0, 1) * 255 for out in (exact(feed)[0], sampled.run(feed)[0]))
        assert low <= psnr(want, got) < high, (size, psnr(want, got))


@needs_openvino
@pytest.mark.parametrize("precision", ["fp32", "auto"])  # auto: the native precision (bf16 where the CPU has it)
def test_openvino_makes_the_picture_conversions_inside_the_graph_with_the_same_pixels(pictures, precision):
    """uint8 HxWx3 in and out, converted by the plugin (3-5 ms less per 640x480 frame): the same pixels as the
    numpy conversions of every other backend (Network.run_image)."""
    network = load_network(find_model("multistyle26.onnx"), "cpu", precision)
    feeds = {"style_weights": np.eye(26, dtype=np.float32)[19]}
    for image in pictures.values():
        want = Network.run_image(network, image, "image", feeds)  # the numpy conversions around `run`
        got = network.run_image(image, "image", feeds)
        assert got.dtype == np.uint8 and got.shape == image.shape
        assert np.abs(want.astype(int) - got).max() <= 1 and (want != got).mean() < 1e-3
        assert psnr(got, image) < 25  # a styled picture


def test_onnxruntime_threads_do_not_spin_after_a_run():
    """Spinning threads of one session (the classifier) stole the cores from the next network (the style
    network: 47 vs 34 ms per 640x480 frame on 2 cores, docs/backends.md)."""
    from emocam.modelstore.runtime import session_options

    options = session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"


@needs_openvino
def test_models_are_prepared_and_compiled_once_per_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    source = find_model("multistyle26.onnx")
    folder = tmp_path / "cache" / "models" / sha256_file(source)[:16]
    load_network(source, "cpu-onnxruntime")
    first = load_network(source, "cpu")
    prepared = sorted(p.name for p in folder.glob("prepared-*.onnx"))
    assert len(prepared) == 3  # onnxruntime's folded graph and its optimised form; OpenVINO's sampled statistics
    assert any((folder / "openvino").iterdir())  # OpenVINO's compiled blob
    stamps = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    again = load_network(source, "cpu")
    load_network(source, "cpu-onnxruntime")
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == stamps  # nothing made twice
    feed = {"image": np.full((1, 3, 64, 96), 0.5, np.float32), "style_weights": np.eye(26, dtype=np.float32)[3]}
    np.testing.assert_array_equal(first.run(feed)[0], again.run(feed)[0])
    shutil.rmtree(tmp_path / "cache")  # safe to delete: the next load makes it again
    np.testing.assert_array_equal(load_network(source, "cpu").run(feed)[0], first.run(feed)[0])
    changed = tmp_path / "changed.onnx"  # another file (another sha256) never meets the old entries
    changed.write_bytes(source.read_bytes() + b"\x32\x01x")  # doc_string "x" appended: valid, different
    load_network(changed, "cpu")
    assert (tmp_path / "cache" / "models" / sha256_file(changed)[:16]).is_dir()


def test_render_reports_what_ran_and_refuses_a_missing_device(tmp_path, astronaut, capsys):
    import cv2

    photo, out, records = tmp_path / "astronaut.png", tmp_path / "out.png", tmp_path / "out.jsonl"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    assert main(["render", str(photo), "-o", str(out), "--json", str(records), "--device", "cpu",
                 "--process-size", "128"]) == 0
    summary = capsys.readouterr().out
    planned = plan("cpu")
    assert f"stylize cpu {planned.precision} ({planned.backend})" in summary
    record = json.loads(records.read_text().splitlines()[0])
    assert record["networks"]["stylize"] == f"cpu {planned.precision} ({planned.backend})"
    assert record["networks"]["classify"] == "cpu fp32 (onnxruntime)"
    for bad in (["--device", "tpu"], ["--precision", "fp16"]):
        assert main(["render", str(photo), "-o", str(tmp_path / "bad.png"), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "Traceback" not in err and bad[1] in err
