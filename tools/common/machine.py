"""What a benchmark was measured on: the CPU, cores, load, onnxruntime's devices, Python, the date."""
from __future__ import annotations

import datetime
import os
import platform
import time
from pathlib import Path

import onnxruntime as ort

from emocam.modelstore.runtime import cuda_status
from emocam.runtime import openvino as ov_backend
from emocam.runtime.chooser import plan, usable_devices

# the processor features that decide the fast path (docs/backends.md)
FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8", "avx_vnni")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, with its family/model numbers (or what platform knows)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    return f"{fields['model name']} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"


def cpu_features() -> list[str]:
    """The processor's flags among FEATURES, from /proc/cpuinfo (empty where it is not Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.partition(":")[2].split())
                return [f for f in FEATURES if f in flags]
    except OSError:
        pass
    return []


def runtime_line() -> str:
    """The backends, the devices that work here, and what --device auto runs the style network on."""
    ok, version = ov_backend.status()
    ov = (f"openvino {version}: " + ", ".join(f"{d} {ov_backend.native_precision(d)} "
                                                f"({' '.join(ov_backend.capabilities(d))})" for d in ov_backend.devices())
          if ok else f"openvino: {version}")
    auto = plan("auto")
    return (f"{ov}; devices usable: {', '.join(usable_devices())}; --device auto runs the style network on "
            f"{auto.device} {auto.precision} ({auto.backend})")


class CpuShare:
    """Cores a run used on average, its child processes included: started at creation, read by `cores()`."""

    def __init__(self) -> None:
        self.cpu, self.wall = os.times(), time.perf_counter()

    def cores(self) -> float:
        now = os.times()
        used = sum(getattr(now, k) - getattr(self.cpu, k) for k in ("user", "system", "children_user", "children_system"))
        return used / max(1e-9, time.perf_counter() - self.wall)


def machine_lines(pack: str, cpu_share: float | None = None) -> list[str]:
    """What the numbers were measured on; `cpu_share`: cores this process used on average during the run."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    share = f"; the bench itself used {cpu_share:.2f} cores on average" if cpu_share is not None else ""
    return [
        f"machine: {cpu_model()}, {cores} cores usable ({os.cpu_count()} online), load average {load}{share}",
        f"processor features: {' '.join(cpu_features()) or 'none of ' + ' '.join(FEATURES)}",
        f"onnxruntime {ort.__version__}, providers listed: {', '.join(ort.get_available_providers())} "
        f"(cuda: {cuda_status()[1]})",
        runtime_line(),
        f"python {platform.python_version()}, {platform.system()} {platform.release()}; pack {pack}; "
        f"date {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
    ]
