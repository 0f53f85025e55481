"""`--ray-address` against a real cluster started with `ray start --head` (token auth, as Ray 2.60 clusters
run), joined from outside through Ray Client (`ray://`) and by its GCS address; addresses where nothing
answers are one line at once."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from emocam.batch.report import REPORT_NAME
from test_batch_clips import sample_cuts  # noqa: F401 (fixture)
from test_batch_ray import packets

ray = pytest.importorskip("ray")
START_TIMEOUT_S = 120  # a guard against a hang, not a speed claim


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def without_ray_settings() -> dict:
    """This environment without RAY_* variables: the cluster and the client get only what a test gives them."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def head():
    """A one-node cluster of 2 CPUs in its own temp dir and ports, with a token of its own; stopped at the end."""
    temp_dir = tempfile.mkdtemp(prefix="emray", dir="/tmp")  # short: Ray puts unix sockets under it
    env = without_ray_settings()
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), RAY_worker_niceness="0",
               RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S="10")  # a Ray Client server that died: retried sooner
    ports = {name: free_port() for name in ("port", "ray-client-server-port", "node-manager-port",
                                            "object-manager-port", "dashboard-agent-listen-port",
                                            "dashboard-agent-grpc-port", "runtime-env-agent-port",
                                            "metrics-export-port")}
    ray_cli = Path(sys.executable).with_name("ray")  # the `ray` program of this Python
    command = [str(ray_cli) if ray_cli.exists() else "ray", "start", "--head", "--block", "--num-cpus", "2",
               "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp_dir,
               "--node-ip-address", "127.0.0.1",
               *[arg for name, port in ports.items() for arg in (f"--{name}", str(port))]]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(ports["ray-client-server-port"]):
            assert process.poll() is None, "ray start --head exited"
            assert time.monotonic() < deadline, "ray start --head did not come up"
            time.sleep(0.5)
        yield env, ports
    finally:
        process.send_signal(signal.SIGTERM)  # --block: Ray stops the node's processes
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(temp_dir, ignore_errors=True)


def render(inputs: list[Path], out: Path, address: str, env: dict) -> subprocess.CompletedProcess:
    """The real `emocam` program, as a user on another machine would run it."""
    command = [sys.executable, "-m", "emocam", "render", *map(str, inputs), "-o", str(out),
               "--process-size", "64", "--ray-address", address]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("through", ["client", "gcs"])
def test_render_on_a_cluster_started_with_ray_start(head, sample_cuts, tmp_path, through):
    env, ports = head
    address = (f"ray://127.0.0.1:{ports['ray-client-server-port']}" if through == "client"
               else f"127.0.0.1:{ports['port']}")
    clips = [sample_cuts["clip0"], sample_cuts["clip1"]]
    done = render(clips, tmp_path / "out", address, env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # Ray's start-up chatter stays off stderr
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text())
    assert f"on the Ray cluster at {address}" in report["engine"]
    assert [f["status"] for f in report["files"]] == ["done", "done"]
    for clip in clips:
        assert len(packets(tmp_path / "out" / f"{clip.stem}.emocam.mp4")["video"]) == 30


@pytest.mark.parametrize("address, says", [
    ("ray://127.0.0.1:{port}", "nothing answers at 127.0.0.1:{port} (Connection refused)"),
    ("127.0.0.1:{port}", "nothing answers at 127.0.0.1:{port} (Connection refused)"),
    ("ray://no-such-host.invalid:10001", "(unknown host)"),
    ("localhost", "--ray-address must be auto, HOST:PORT or ray://HOST:PORT"),
])
def test_an_address_where_nothing_answers_is_one_line_at_once(sample_cuts, tmp_path, address, says):
    port = free_port()  # nothing listens on it
    address, says = address.format(port=port), says.format(port=port)
    env = without_ray_settings()
    done = render([sample_cuts["clip0"], sample_cuts["clip1"]], tmp_path / "out", address, env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("emocam: error: ") and says in done.stderr
