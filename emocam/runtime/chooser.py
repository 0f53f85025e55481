"""Which backend, device and precision run a network: what the user asked for, made concrete, never silently
changed. `plan` resolves `--device` and `--precision`; a device that does not work here is refused in one line.

    auto             CUDA (onnxruntime-gpu) when it really loads; else Intel graphics through OpenVINO when the
                     CPU has no bf16; else the CPU through OpenVINO; else (no OpenVINO wheel) onnxruntime's CPU
    cpu              OpenVINO's CPU plugin (bf16 where the processor has AMX / AVX-512 BF16, else fp32);
                     onnxruntime's CPU where OpenVINO is not installed (and `ran` says so)
    cpu-onnxruntime  onnxruntime's CPU kernels, fp32
    cuda             onnxruntime-gpu's CUDA provider, fp32
    intel-gpu        OpenVINO's GPU plugin on Intel graphics, fp16

precision auto takes the device's native precision; fp32 forces fp32 everywhere.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from emocam.errors import EmocamError
from emocam.modelstore import runtime as ort_runtime
from emocam.runtime import onnxruntime as ort_backend
from emocam.runtime import openvino as ov_backend
from emocam.runtime.base import Network

DEVICES = ("auto", "cpu", "cpu-onnxruntime", "cuda", "intel-gpu")
PRECISIONS = ("auto", "fp32")


@dataclass(frozen=True)
class Plan:
    """A concrete choice: backend, device and the precision asked of it."""

    backend: str
    device: str
    precision: str


def plan(device: str = "auto", precision: str = "auto", stage: str = "stylize") -> Plan:
    """The backend, device and precision for a stage's network. The small per-face networks run in fp32 on every
    CPU device (bf16 could tip close emotion calls and moves mesh points by up to 0.7 crop pixels): stage
    "classify" (the emotion classifier, 64x64, under a millisecond) on onnxruntime, where OpenVINO does not pay
    (docs/backends.md); stage "mesh" (the face mesh, 192x192) on OpenVINO where it has the CPU, 1.4 ms a face
    against onnxruntime's 3.5 with the same points to 2e-4 crop pixels (docs/expression.md)."""
    if device not in DEVICES:
        raise EmocamError(f"--device {device}: choose one of {', '.join(DEVICES)}")
    if precision not in PRECISIONS:
        raise EmocamError(f"--precision {precision}: choose one of {', '.join(PRECISIONS)}")
    if device == "auto":
        device = auto_device()
    if device == "cuda":
        if not ort_runtime.cuda_status()[0]:
            raise EmocamError(f"--device cuda: CUDA is not usable here (onnxruntime: {ort_runtime.cuda_status()[1]}); "
                              "use --device cpu or auto")
        return Plan("onnxruntime", "cuda", "fp32")
    if stage == "mesh" and device == "cpu" and "cpu" in ov_backend.devices():
        return Plan("openvino", "cpu", "fp32")
    if device == "cpu-onnxruntime" or stage in ("classify", "mesh") or (device == "cpu" and "cpu" not in ov_backend.devices()):
        return Plan("onnxruntime", "cpu", "fp32")
    if device == "intel-gpu" and "intel-gpu" not in ov_backend.devices():
        ok, why = ov_backend.status()
        raise EmocamError(f"--device intel-gpu: {'OpenVINO finds no Intel graphics here' if ok else why}; "
                          "use --device cpu or auto")
    return Plan("openvino", device, "fp32" if precision == "fp32" else ov_backend.native_precision(device))


def auto_device() -> str:
    """What `auto` means on this machine (see the module's table)."""
    if ort_runtime.cuda_status()[0]:
        return "cuda"
    ov = ov_backend.devices()
    if "intel-gpu" in ov and ov_backend.native_precision("cpu") != "bf16":
        return "intel-gpu"
    return "cpu"


@functools.lru_cache(maxsize=1)
def fast_style() -> bool:
    """Whether `--device auto` runs style networks fast here: CUDA, or OpenVINO in bf16/fp16 (docs/backends.md:
    full-size 640x480 frames in about 25-30 ms on two cores with AMX). The size defaults follow it."""
    try:
        chosen = plan("auto")
    except EmocamError:
        return False
    return chosen.device == "cuda" or (chosen.backend == "openvino" and chosen.precision in ("bf16", "fp16"))


def load_network(path: str | Path, device: str = "auto", precision: str = "auto", stage: str = "stylize",
                 threads: int | None = None, axes: dict[str, dict[int, str]] | None = None) -> Network:
    """A network for `path` on the planned backend; `network.ran` says what really runs it."""
    if threads is not None and threads < 1:
        raise EmocamError(f"threads must be at least 1, got {threads}")
    chosen = plan(device, precision, stage)
    backend = ov_backend if chosen.backend == "openvino" else ort_backend
    return backend.load(Path(path), chosen.device, chosen.precision, threads, axes)


def usable_devices() -> list[str]:
    """The --device values that really work here (auto always does)."""
    out = []
    for device in DEVICES[1:]:
        try:
            plan(device)
        except EmocamError:
            continue
        out.append(device)
    return out


def describe() -> list[str]:
    """Lines for `emocam info`: each backend, the devices that really work, their precision, what auto picks."""
    ok, version = ov_backend.status()
    lines = ["onnxruntime providers listed: " + ", ".join(ort_runtime.listed_providers())]
    usable, reason = ort_runtime.cuda_status()
    lines.append("  onnxruntime devices: " + ("cuda fp32, cpu fp32" if usable else f"cpu fp32 (cuda: {reason})"))
    if ok:
        ov_lines = [f"{d} {ov_backend.native_precision(d)} ({ov_backend.device_name(d)}; "
                    f"{' '.join(ov_backend.capabilities(d))})" for d in ov_backend.devices()]
        lines.append(f"openvino {version} devices: " + ("; ".join(ov_lines) or "none"))
    else:
        lines.append(f"openvino: {version}")
    auto = plan("auto", "auto")
    lines.append(f"--device auto here: style networks on {auto.device} {auto.precision} ({auto.backend}), "
                 "the emotion classifier on " + str(plan("auto", "auto", "classify").device) + " fp32 (onnxruntime)")
    return lines
