"""Property-based fuzzing with hypothesis: whatever the bytes, names or numbers, the answer is a result or one
EmocamError line, never another exception. `--fuzz-full` runs ten times the examples."""
from __future__ import annotations

import json
import math
import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from emocam.io import output_paths
from emocam.errors import EmocamError
from fuzz.harness import run_in_process

FAST, FULL = 15, 150


def examples(request) -> int:
    return FULL if request.config.getoption("--fuzz-full") else FAST


def _settings(request):
    return settings(max_examples=examples(request), deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def test_random_bytes_as_any_input_are_one_line(request, tmp_path):
    @_settings(request)
    @given(data=st.binary(min_size=0, max_size=4096), suffix=st.sampled_from([".mp4", ".mkv", ".avi", ".png", ".jpg", ".webp", ".tif", ""]))
    def prop(data: bytes, suffix: str) -> None:
        source = tmp_path / f"input{suffix}"
        source.write_bytes(data)
        out = tmp_path / ("out.png" if suffix in (".png", ".jpg", ".webp", ".tif") else "out.mp4")
        code, _, err = run_in_process(["render", str(source), "-o", str(out), "--process-size", "32"], timeout=60)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("emocam: error: "), (code, err)
        assert source.read_bytes() == data and not out.exists()

    prop()


def _png(width: int, height: int, depth: int, color: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(b"\0" * 256)) + chunk(b"IEND", b"")


def test_any_png_header_reads_or_is_refused(request, tmp_path):
    from emocam.io.sources import read_image

    @_settings(request)
    @given(width=st.integers(0, 2**32 - 1), height=st.integers(0, 2**32 - 1),
           depth=st.sampled_from([1, 2, 4, 8, 16, 3, 0]), color=st.sampled_from([0, 2, 3, 4, 6, 5]))
    def prop(width: int, height: int, depth: int, color: int) -> None:
        path = tmp_path / "claims.png"
        path.write_bytes(_png(width, height, depth, color))
        try:
            image = read_image(path)
        except EmocamError as exc:
            assert "\n" not in str(exc)
            return
        assert image.ndim == 3 and image.shape[2] == 3

    prop()


_json = st.recursive(st.none() | st.booleans() | st.integers(-5, 40) | st.floats(allow_nan=True, allow_infinity=True)
                     | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=10), inner, max_size=8),
                     max_leaves=30)
_EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
_style = st.one_of(st.integers(-3, 30), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=3),
                   st.dictionaries(st.one_of(st.integers(-2, 28).map(str), st.text(max_size=3)),
                                   st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 3)), max_size=3))
_pack = st.one_of(
    _json,
    st.fixed_dictionaries({"kind": st.sampled_from(["multistyle", "per_emotion", "x"]),
                           "model": st.one_of(st.just("multistyle26.onnx"), _json),
                           "styles": st.one_of(st.dictionaries(st.sampled_from(_EMOTIONS + ["joy"]), _style), _json)}),
)


def test_any_pack_json_loads_or_is_one_line(request, tmp_path):
    from emocam.packs.multistyle import MULTISTYLE_COUNT
    from emocam.packs.registry import load_pack

    @_settings(request)
    @given(raw=_pack)
    def prop(raw) -> None:
        folder = tmp_path / "pack"
        folder.mkdir(exist_ok=True)
        (folder / "pack.json").write_text(json.dumps(raw))
        try:
            pack = load_pack(folder)
        except EmocamError as exc:
            assert "\n" not in str(exc)
            return
        for vector in pack.styles.values():  # what loads is usable: finite weights summing to 1
            assert vector.shape == (MULTISTYLE_COUNT,) and (vector >= 0).all()
            assert math.isclose(float(vector.sum()), 1.0, rel_tol=1e-5)

    prop()


_NUMERIC = ["--strength", "--smoothing", "--dwell", "--blend", "--process-size", "--min-confidence"]


def test_any_number_for_any_option_is_checked(request):
    from emocam import settings as schema
    from emocam.cli import build_parser

    @_settings(request)
    @given(option=st.sampled_from(_NUMERIC),
           value=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**12, 10**12).map(str),
                           st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "1e999", "0x10", "", " 1", "1_0"])))
    def prop(option: str, value: str) -> None:
        try:
            args = build_parser("render").parse_args(["render", "clip.mp4", option, value])
            chosen, _ = schema.from_args(args, schema.Settings.for_surface(schema.RENDER))
        except EmocamError as exc:
            assert "\n" not in str(exc)
            return
        number = getattr(chosen, {"--smoothing": "smoothing_s", "--dwell": "dwell_s", "--blend": "blend_s"}.get(
            option, option[2:].replace("-", "_")))
        assert math.isfinite(number), (option, value, number)

    prop()


def test_any_output_name_is_planned_or_refused(request, tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"x")

    @_settings(request)
    @given(name=st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1, max_size=300))
    def prop(name: str) -> None:
        try:
            plan = output_paths.plan_outputs([source], tmp_path / f"{name}.mp4", tmp_path / f"{name}.jsonl")
        except EmocamError as exc:
            assert "\n" not in str(exc).replace(name, "")
            return
        for path in (plan.output, plan.partial, plan.json, plan.json_partial):
            assert len(os.fsencode(path.name)) <= 255 and path != source

    prop()


@pytest.mark.parametrize("spec", ["", "0x", "1" * 400])
def test_camera_and_path_specs(spec, tmp_path):
    from emocam.io.sources import open_source

    with pytest.raises(EmocamError):
        open_source(Path(tmp_path / spec) if spec else tmp_path / "missing")


def test_a_video_with_flipped_bytes_renders_or_is_refused(request, tmp_path):
    """Damage anywhere (header, index, frames, audio): exit 0 with a playable output, or one line and exit 2."""
    import av

    from fuzz import media

    clean = media.video(tmp_path / "clean.mp4", frames=8, audio="aac", movflags="faststart").read_bytes()

    @_settings(request)
    @given(flips=st.lists(st.tuples(st.integers(0, len(clean) - 1), st.integers(0, 255)), min_size=1, max_size=12))
    def prop(flips) -> None:
        data = bytearray(clean)
        for at, value in flips:
            data[at] = value
        source, out = tmp_path / "damaged.mp4", tmp_path / "out.mp4"
        source.write_bytes(bytes(data))
        out.unlink(missing_ok=True)
        code, _, err = run_in_process(["render", str(source), "-o", str(out), "--process-size", "32"], timeout=60)
        lines = err.strip().splitlines()
        if code == 0:
            assert not lines
            with av.open(str(out)) as container:
                assert sum(1 for _ in container.decode(video=0)) >= 1
        else:
            assert code == 2 and len(lines) == 1 and lines[0].startswith("emocam: error: "), (code, err)
            assert not out.exists()
        assert source.read_bytes() == bytes(data)

    prop()
