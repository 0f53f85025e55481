"""Fuzz cases about style packs (pack.json) and emotion models (ONNX whose metadata lies)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from fuzz import media
from fuzz.cases_media import FAST_RENDER, expect_video
from fuzz.harness import FAIL, OK, case_registry, Setup

CASES, case = case_registry()
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
GOOD_STYLES = {"angry": 20, "disgust": 13, "fear": 6, "happy": 5, "sad": 19, "surprise": 3, "neutral": 18}


def with_render(tmp: Path, extra: list[str], *, expect=FAIL, message="", inputs: list[Path] = ()) -> Setup:
    source = media.video(tmp / "clip.mp4")
    out = tmp / "out.mp4"
    setup = Setup(["render", str(source), "-o", str(out), *FAST_RENDER, *extra], inputs=[source, *inputs],
                  outputs=[out], expect=expect, message=message)
    if expect == OK:
        setup.check = expect_video(out, 6, (64, 48))
    return setup


# -- pack.json -------------------------------------------------------------------------------------------------
def pack_case(tmp: Path, content: str | bytes, *, expect=FAIL, message="", files: dict[str, Path] | None = None) -> Setup:
    folder = tmp / "mypack"
    folder.mkdir()
    (folder / "pack.json").write_bytes(content.encode() if isinstance(content, str) else content)
    for name, target in (files or {}).items():
        os.symlink(target, folder / name)
    return with_render(tmp, ["--pack", str(folder)], expect=expect, message=message, inputs=[folder])


def multistyle(**changes) -> str:
    raw = {"name": "mine", "kind": "multistyle", "model": "multistyle26.onnx", "styles": dict(GOOD_STYLES)}
    for key, value in changes.items():
        if key.startswith("style_"):
            raw["styles"][key[6:]] = value
        elif value is ...:
            raw.pop(key)
        else:
            raw[key] = value
    return json.dumps(raw)


def _johnson(emotion: str = "happy") -> Path:
    from emocam.packs.registry import load_pack

    return load_pack("johnson-distilled").models[emotion]


def _multistyle_model() -> Path:
    from emocam.modelstore.manifest import find_model

    return find_model("multistyle26.onnx")


_PACKS = {
    "empty-list": ("[]", "JSON object"),
    "null": ("null", "JSON object"),
    "a-string": ('"default"', "JSON object"),
    "empty-object": ("{}", "kind"),
    "not-json": ("{kind: multistyle", "cannot read"),
    "not-utf8": (b"\xff\xfe{\x00}", "cannot read"),
    "kind-unknown": (multistyle(kind="cubist"), "kind"),
    "kind-missing": (multistyle(kind=...), "kind"),
    "styles-as-list": (multistyle(styles=[20, 13, 6, 5, 19, 3, 18]), "styles"),
    "styles-null": (multistyle(styles=None), "styles"),
    "styles-missing-one": (json.dumps({"kind": "multistyle", "model": "multistyle26.onnx",
                                       "styles": {k: v for k, v in GOOD_STYLES.items() if k != "sad"}}), "sad"),
    "styles-unknown-emotion": (multistyle(style_joy=4), "joy"),
    "model-null": (multistyle(model=None), "model"),
    "model-number": (multistyle(model=5), "model"),
    "model-empty": (multistyle(model=""), "model"),
    "model-missing-file": (multistyle(model="nowhere.onnx"), "nowhere.onnx"),
    "style-nan": (multistyle(style_happy=float("nan")), "NaN"),
    "style-infinity": (multistyle(style_happy={"5": float("inf")}), "Infinity"),
    "style-negative-index": (multistyle(style_happy=-1), "happy"),
    "style-index-26": (multistyle(style_happy=26), "happy"),
    "style-fraction": (multistyle(style_happy=5.5), "happy"),
    "style-true": (multistyle(style_happy=True), "happy"),
    "style-null": (multistyle(style_happy=None), "happy"),
    "style-string": (multistyle(style_happy="warm"), "happy"),
    "style-weight-negative": (multistyle(style_happy={"3": -1, "5": 2}), "happy"),
    "style-weight-zero": (multistyle(style_happy={"3": 0}), "happy"),
    "style-weights-empty": (multistyle(style_happy={}), "happy"),
    "style-weight-key-bad": (multistyle(style_happy={"x": 1}), "happy"),
    "name-not-string": (multistyle(name=["a"]), "name"),
    "per-emotion-models-list": (json.dumps({"kind": "per_emotion", "models": ["a.onnx"] * 7}), "models"),
    "per-emotion-model-null": (json.dumps({"kind": "per_emotion", "models": {e: None for e in EMOTIONS}}), "model"),
    "deep-nesting": ("[" * 100000 + "]" * 100000, ""),
}
for _name, (_content, _message) in _PACKS.items():
    @case("packs", _name, fast=True)
    def _(tmp, content=_content, message=_message):
        return pack_case(tmp, content, message=message)


@case("packs", "multistyle-kind-with-a-per-emotion-model", fast=True)
def _(tmp):
    return pack_case(tmp, multistyle(model="happy.onnx"), message="image and style_weights", files={"happy.onnx": _johnson()})


@case("packs", "per-emotion-kind-with-the-multistyle-model", fast=True)
def _(tmp):
    content = json.dumps({"kind": "per_emotion", "models": {e: "multi.onnx" for e in EMOTIONS}})
    return pack_case(tmp, content, message="one image input", files={"multi.onnx": _multistyle_model()})


def _fixed_size_network(path: Path) -> Path:
    """A real ONNX image network (1 - x) that takes only 64x64 images: its height and width are fixed."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 64, 64])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    graph = helper.make_graph([helper.make_node("Sub", ["one", "x"], ["y"])], "fixed", [x], [y], [one])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


@case("packs", "per-emotion-model-with-a-fixed-input-size", fast=True)
def _(tmp):
    content = json.dumps({"kind": "per_emotion", "models": {e: "fixed.onnx" for e in EMOTIONS}})
    return pack_case(tmp, content, message="of any size", files={"fixed.onnx": _fixed_size_network(tmp / "fixed-src.onnx")})


@case("packs", "model-is-random-bytes", fast=True)
def _(tmp):
    junk = media.random_bytes(tmp / "junk.onnx", 4000)
    return pack_case(tmp, multistyle(model="junk.onnx"), message="not an ONNX model", files={"junk.onnx": junk})


@case("packs", "model-is-empty", fast=True)
def _(tmp):
    (tmp / "empty.onnx").write_bytes(b"")
    return pack_case(tmp, multistyle(model="empty.onnx"), files={"empty.onnx": tmp / "empty.onnx"})


@case("packs", "pack-json-is-a-fifo", fast=True)
def _(tmp):
    folder = tmp / "mypack"
    folder.mkdir()
    os.mkfifo(folder / "pack.json")
    return with_render(tmp, ["--pack", str(folder)], message="not found")


@case("packs", "valid-weighted-blend", fast=True)
def _(tmp):
    return pack_case(tmp, multistyle(style_happy={"5": 0.7, "3": 0.3}, style_sad={"19": 2}), expect=OK)


@case("packs", "valid-per-emotion")
def _(tmp):
    files = {f"{e}.onnx": _johnson(e) for e in EMOTIONS}
    content = json.dumps({"kind": "per_emotion", "models": {e: f"{e}.onnx" for e in EMOTIONS}})
    return pack_case(tmp, content, expect=OK, files=files)


# -- emotion models whose metadata disagrees with the graph -------------------------------------------------------------
def emotion_model(path: Path, *, shape=("N", 64, 64, 1), elem: str = "float", classes: int = 7,
                  spec: object = None, labels: object = None, metadata: bool = True) -> Path:
    """A tiny real ONNX classifier: flatten, mean, a [1, classes] matmul and a softmax."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    kinds = {"float": TensorProto.FLOAT, "int64": TensorProto.INT64}
    spec = spec if spec is not None else {"size": [64, 64], "channels": 1, "layout": "NHWC", "range": [-1, 1]}
    x = helper.make_tensor_value_info("face", kinds[elem], list(shape))
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", classes])
    weights = helper.make_tensor("w", TensorProto.FLOAT, [1, classes], np.linspace(-1, 1, classes).astype(np.float32))
    cast = [helper.make_node("Cast", ["face"], ["facef"], to=TensorProto.FLOAT)] if elem != "float" else []
    nodes = cast + [
        helper.make_node("Flatten", ["facef" if cast else "face"], ["flat"], axis=1),
        helper.make_node("ReduceMean", ["flat"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("MatMul", ["mean", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
    ]
    graph = helper.make_graph(nodes, "emotion", [x], [y], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if metadata:
        helper.set_model_props(model, {"emocam.input": json.dumps(spec) if not isinstance(spec, str) else spec,
                                       "emocam.labels": json.dumps(labels if labels is not None else EMOTIONS)})
    onnx.save(model, str(path))
    return path


_MODELS = {
    "valid-gray-nhwc": ({}, OK, ""),
    "valid-rgb-nchw-48": ({"shape": ("N", 3, 48, 48), "spec": {"size": [48, 48], "channels": 3, "layout": "NCHW",
                                                                 "range": [0, 1]}}, OK, ""),
    "valid-five-labels": ({"classes": 5, "labels": EMOTIONS[:5]}, OK, ""),
    "no-metadata": ({"metadata": False}, FAIL, "metadata"),
    "metadata-not-json": ({"spec": "{size: 64"}, FAIL, "metadata"),
    "metadata-3-channels-graph-1": ({"spec": {"size": [64, 64], "channels": 3, "layout": "NHWC", "range": [-1, 1]}},
                                    FAIL, "does not match"),
    "metadata-size-48-graph-64": ({"spec": {"size": [48, 48], "channels": 1, "layout": "NHWC", "range": [-1, 1]}},
                                  FAIL, "does not match"),
    "rank-3-input": ({"shape": ("N", 64, 64)}, FAIL, "does not match"),
    "rank-5-input": ({"shape": ("N", 1, 64, 64, 1)}, FAIL, "does not match"),
    "size-0": ({"spec": {"size": [0, 0], "channels": 1, "layout": "NHWC", "range": [-1, 1]}}, FAIL, "size"),
    "size-not-square": ({"spec": {"size": [64, 32], "channels": 1, "layout": "NHWC", "range": [-1, 1]}}, FAIL, "size"),
    "int-input": ({"elem": "int64"}, FAIL, "int64"),
    "five-classes-seven-labels": ({"classes": 5}, FAIL, "labels"),
    "unknown-label": ({"labels": ["angry", "disgust", "fear", "joy", "sad", "surprise", "neutral"]}, FAIL, "joy"),
    "duplicate-label": ({"labels": ["happy"] * 7}, FAIL, "once"),
    "labels-not-a-list": ({"labels": "happy"}, FAIL, "labels"),
    "range-reversed": ({"spec": {"size": [64, 64], "channels": 1, "layout": "NHWC", "range": [1, -1]}}, FAIL, "range"),
    "range-nan": ({"spec": '{"size": [64, 64], "channels": 1, "layout": "NHWC", "range": [NaN, 1]}'}, FAIL, "range"),
    "layout-unknown": ({"spec": {"size": [64, 64], "channels": 1, "layout": "HWC", "range": [-1, 1]}}, FAIL, "layout"),
    "channels-2": ({"spec": {"size": [64, 64], "channels": 2, "layout": "NHWC", "range": [-1, 1]}}, FAIL, "channels"),
}
for _name, (_kwargs, _expect, _message) in _MODELS.items():
    @case("models", _name, fast=_expect == FAIL or _name == "valid-gray-nhwc")
    def _(tmp, kwargs=_kwargs, expect=_expect, message=_message):
        model = emotion_model(tmp / "emotion.onnx", **kwargs)
        return with_render(tmp, ["--emotion-model", str(model)], expect=expect, message=message, inputs=[model])


for _name, _make in (("random-bytes", lambda p: media.random_bytes(p, 3000)), ("empty", lambda p: (p.write_bytes(b""), p)[1]),
                     ("the-style-network", lambda p: (p.write_bytes(_multistyle_model().read_bytes()), p)[1]),
                     ("text", lambda p: (p.write_text("not a model"), p)[1])):
    @case("models", f"file-is-{_name}", fast=True)
    def _(tmp, make=_make):
        model = make(tmp / "emotion.onnx")
        return with_render(tmp, ["--emotion-model", str(model)], inputs=[model])


@case("models", "a-folder", fast=True)
def _(tmp):
    (tmp / "model.onnx").mkdir()
    return with_render(tmp, ["--emotion-model", str(tmp / "model.onnx")])


@case("models", "a-fifo", fast=True)
def _(tmp):
    os.mkfifo(tmp / "model.onnx")
    return with_render(tmp, ["--emotion-model", str(tmp / "model.onnx")])


@case("models", "int-input-in-the-real-program", fast=True)
def _(tmp):
    model = emotion_model(tmp / "emotion.onnx", elem="int64")
    setup = with_render(tmp, ["--emotion-model", str(model)], message="int64", inputs=[model])
    setup.subprocess = True  # no teardown traceback (MediaPipe, onnxruntime) after the one line
    return setup
