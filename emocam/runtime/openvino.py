"""The OpenVINO backend: Intel's runtime for its CPUs (and AMD's: its CPU plugin needs only SSE4.2/AVX2) and
Intel graphics. On a processor with AMX or AVX-512 BF16 it runs the style networks in bfloat16, several times
faster than onnxruntime's fp32 kernels (docs/backends.md).

Each input shape is compiled once (a static shape runs faster than a dynamic one: 67 vs 110 ms for
multistyle26 at 640x480 in fp32 here) and kept; OpenVINO's own compile cache (CACHE_DIR, in the model's cache
folder) makes the next start's compile a load. The precision asked for is set explicitly (OpenVINO 2026 picks
bf16 by itself on AMX processors), and the one reported is the one the compiled model says it runs.
"""
from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.runtime import cache
from emocam.runtime.base import Network, Ran, TensorSpec

NAME = "openvino"
OV_DEVICES = {"cpu": "CPU", "intel-gpu": "GPU"}
_PRECISION = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
MAX_SHAPES = 4  # compiled shapes kept per network (a live size change compiles one more)


@functools.lru_cache(maxsize=1)
def status() -> tuple[bool, str]:
    """(importable, version or reason): OpenVINO is an optional dependency (no wheel on every platform)."""
    try:
        import openvino
    except Exception as exc:  # noqa: BLE001 - an ImportError, or a wheel that fails to load its libraries
        return False, f"openvino is not installed ({type(exc).__name__})"
    return True, openvino.__version__.split("-")[0]


@functools.lru_cache(maxsize=1)
def core():
    """The one OpenVINO Core of the process (it owns the plugins and their thread pools)."""
    import openvino as ov

    return ov.Core()


@functools.lru_cache(maxsize=1)
def devices() -> list[str]:
    """emocam device names OpenVINO really has here: "cpu", plus "intel-gpu" when its GPU plugin finds one."""
    if not status()[0]:
        return []
    try:
        found = core().available_devices
    except Exception:  # noqa: BLE001 - a plugin that fails to enumerate counts as absent
        return []
    return [name for name, ov in OV_DEVICES.items() if any(d == ov or d.startswith(ov + ".") for d in found)]


@functools.lru_cache(maxsize=None)
def capabilities(device: str) -> tuple[str, ...]:
    """The device's OPTIMIZATION_CAPABILITIES (e.g. BF16 where the CPU has AMX or AVX-512 BF16, FP16 on GPU)."""
    try:
        return tuple(core().get_property(OV_DEVICES[device], "OPTIMIZATION_CAPABILITIES"))
    except Exception:  # noqa: BLE001
        return ()


@functools.lru_cache(maxsize=None)
def device_name(device: str) -> str:
    """The device's full name as OpenVINO reports it (the processor's or the graphics')."""
    try:
        return str(core().get_property(OV_DEVICES[device], "FULL_DEVICE_NAME"))
    except Exception:  # noqa: BLE001
        return device


def native_precision(device: str) -> str:
    """The fastest precision the device runs natively: bf16 on CPUs with it, fp16 on Intel GPUs, else fp32."""
    caps = capabilities(device)
    if device == "cpu":
        return "bf16" if "BF16" in caps else "fp32"
    return "fp16" if "FP16" in caps else "fp32"


def _reason(exc: BaseException) -> str:
    """The telling line of an OpenVINO error (its first lines only name the C++ files it passed through)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [line for line in lines if not line.startswith("Exception from")]
    return (telling or lines or [type(exc).__name__])[0]


def _dtype(element_type) -> np.dtype:
    return np.dtype(element_type.to_dtype())


def _shape(partial) -> tuple:
    return tuple(d.get_length() if d.is_static else None for d in partial)


class OvNetwork(Network):
    """An OpenVINO model compiled per input shape, behind the Network interface."""

    def __init__(self, model, source: Path, device: str, precision: str, threads: int | None,
                 quantized: bool = False) -> None:
        self.model, self.source, self.device = model, source, device
        self.inputs = [TensorSpec(i.get_any_name(), _shape(i.get_partial_shape()), _dtype(i.get_element_type()))
                       for i in model.inputs]
        self.outputs = [TensorSpec(o.get_any_name(), _shape(o.get_partial_shape()), _dtype(o.get_element_type()))
                        for o in model.outputs]
        self.metadata: dict[str, str] = {}
        self.config = {"INFERENCE_PRECISION_HINT": _PRECISION[precision], "PERFORMANCE_HINT": "LATENCY"}
        blobs = cache.model_dir(source) / "openvino"
        try:
            blobs.mkdir(parents=True, exist_ok=True)
            if os.access(blobs, os.W_OK):  # an unwritable cache only costs compile time
                self.config["CACHE_DIR"] = str(blobs)
        except OSError:
            pass
        if threads:
            self.config["INFERENCE_NUM_THREADS"] = int(threads)
        self._requests: dict[tuple, object] = {}
        self._lock = threading.Lock()
        # compiled once at load on a small probe shape: a network that cannot compile fails here, in one line,
        # and the precision reported is the one the compiled model says it runs
        probe = tuple((s.name, tuple(d if d is not None else (1 if axis == 0 else 64) for axis, d in enumerate(s.shape)))
                      for s in self.inputs)
        # a quantized graph runs its quantized layers in int8 (OpenVINO's low-precision kernels), the rest as hinted
        self.ran = Ran(NAME, device, "int8" if quantized else self._precision(self._request(probe)))

    @staticmethod
    def _precision(request) -> str:
        hint = request.get_compiled_model().get_property("INFERENCE_PRECISION_HINT")
        name = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
        return {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}.get(name, name)

    def _request(self, key: tuple, image_input: str | None = None):
        """The infer request compiled for these input shapes (compiled on first use, a few kept); with
        `image_input`, the one whose input of that name takes a uint8 picture and whose first output is one."""
        request = self._requests.get((key, image_input))
        if request is None:
            if len(self._requests) >= MAX_SHAPES:
                self._requests.pop(next(iter(self._requests)))
            try:
                with cache.loading(self.source):  # compiling reads and writes the blob cache
                    model = self.model.clone()
                    model.reshape({name: list(shape) for name, shape in key})
                    if image_input:
                        model = _with_picture_io(model, image_input)
                    compiled = core().compile_model(model, OV_DEVICES[self.device], self.config)
            except Exception as exc:  # noqa: BLE001 - OpenVINO raises RuntimeError with a long trace
                first = _reason(exc)
                raise EmocamError(f"OpenVINO cannot compile {self.source.name} for {self.device}: {first[:200]}") from None
            request = self._requests[(key, image_input)] = compiled.create_infer_request()
        return request

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        typed = {s.name: np.ascontiguousarray(feeds[s.name], dtype=s.dtype) for s in self.inputs}
        with self._lock:
            request = self._request(tuple((name, tuple(a.shape)) for name, a in typed.items()))
            result = request.infer(typed)
            return [np.array(result[i]) for i in range(len(self.outputs))]

    def run_image(self, image: np.ndarray, name: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """As Network.run_image, the conversions compiled into the graph (see `_with_picture_io`)."""
        typed = {s.name: np.ascontiguousarray(feeds[s.name], dtype=s.dtype) for s in self.inputs if s.name != name}
        shapes = {name: (1, 3, *image.shape[:2]), **{n: tuple(a.shape) for n, a in typed.items()}}
        with self._lock:
            request = self._request(tuple((s.name, shapes[s.name]) for s in self.inputs), image_input=name)
            result = request.infer({name: np.ascontiguousarray(image[None]), **typed})
            return np.array(result[0])[0]


def _with_picture_io(model, name: str):
    """`model` with input `name` taking uint8 [1,H,W,3] and its first output giving uint8 [1,H,W,3] (clipped to
    0..1, times 255, rounded): the conversions numpy made on every frame, now made by the plugin beside the first
    and last layers it runs anyway. Same pictures; 3-5 ms less per 640x480 frame on two cores (docs/backends.md)."""
    import openvino as ov
    import openvino.opset13 as ops
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(model)
    picture = ppp.input(name)
    picture.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    picture.model().set_layout(ov.Layout("NCHW"))
    picture.preprocess().convert_element_type(ov.Type.f32).scale(255.0)
    out = ppp.output(0)
    out.model().set_layout(ov.Layout("NCHW"))

    def to_levels(node):
        clipped = ops.clamp(node, 0.0, 1.0)
        levels = ops.add(ops.multiply(clipped, ops.constant(np.float32(255.0))), ops.constant(np.float32(0.5)))
        return ops.floor(levels).output(0)  # + 0.5 and floor: numpy's rounding in tensor_image

    out.postprocess().custom(to_levels)
    out.postprocess().convert_layout(ov.Layout("NHWC")).convert_element_type(ov.Type.u8)
    return ppp.build()


def load(path: Path, device: str, precision: str, threads: int | None = None,
         axes: dict[str, dict[int, str]] | None = None) -> OvNetwork:
    """A network on OpenVINO: device "cpu" or "intel-gpu", precision "fp32", "bf16" or "fp16"."""
    ok, why = status()
    if not ok:
        raise EmocamError(f"--device {device}: {why}; use --device cpu-onnxruntime")
    if device not in devices():
        raise EmocamError(f"--device {device}: OpenVINO finds no {device} here (it has {', '.join(devices()) or 'none'})")
    p = Path(path)
    if not p.is_file():
        raise EmocamError(f"model file {p} not found")
    with cache.loading(p):
        return _load(p, device, precision, threads, axes)


def _load(p: Path, device: str, precision: str, threads: int | None, axes: dict[str, dict[int, str]] | None) -> OvNetwork:
    try:
        # unfolded: OpenVINO fuses the spelled-out norm ops itself and runs multistyle26 ~15% faster that way than
        # through its MVN kernel for the folded InstanceNormalization (30 vs 36 ms, 640x480 bf16, 2 threads); and
        # their statistics sampled at large sizes: another 15% there (29 vs 24.5 ms), exact at 320 px
        model = core().read_model(str(cache.prepared(p, axes, fold_norms=False, sample_stats=True)))
    except EmocamError:
        raise
    except Exception as exc:  # noqa: BLE001 - OpenVINO's frontend raises RuntimeError for a bad file
        first = _reason(exc)
        raise EmocamError(f"cannot load model {p}: {first[:200]}") from None
    quantized = any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
    if quantized and precision == "bf16":
        precision = "fp32"  # a quantized graph (Magenta's transform): 2026.4's CPU plugin refuses it in bf16
    return OvNetwork(model, p, device, precision, threads, quantized)
