"""What a benchmark was measured on: the CPU, cores, load, onnxruntime's devices, Python, the date."""
from __future__ import annotations

import datetime
import os
import platform
import time
from pathlib import Path

import onnxruntime as ort

from emocam.modelstore.runtime import available_devices, cuda_status


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
        f"onnxruntime {ort.__version__}, providers listed: {', '.join(ort.get_available_providers())}; "
        f"usable here: {', '.join(available_devices())} (cuda: {cuda_status()[1]})",
        f"python {platform.python_version()}, {platform.system()} {platform.release()}; pack {pack}; "
        f"date {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
    ]
