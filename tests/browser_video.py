"""Open a video in a real browser (headless Chromium) as a web page would, and read what the browser sees.

The page holds the video twice, both over HTTP. `stream.mp4` is served without byte ranges (as a plain
server or a progressive download delivers it): a fragmented MP4 then shows its first fragment's length
as the whole duration (1.04 s for a 7 s render), the problem users met; a `file://` URL or a server with
ranges lets Chromium scan every fragment and hides it. `video.mp4` is served with ranges; the page seeks it
to the middle, draws that frame to a canvas and reports the time it landed on and an 8x8 grid of mean RGB.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np

GRID = 8
PAGE = """<!doctype html><html><body><video id="s" muted preload="auto"></video><video id="v" muted preload="auto">
</video><pre id="out">pending</pre>
<script>
const s = document.getElementById('s'), v = document.getElementById('v'), out = document.getElementById('out'), n = %d;
const result = {stream_duration: null, seek: null};
const say = () => { if (result.stream_duration !== null && result.seek !== null) out.textContent = JSON.stringify(result); };
const failed = (e) => () => { out.textContent = JSON.stringify({error: e.id + ': ' + (e.error ? e.error.code + ' ' + e.error.message : '?')}); };
s.addEventListener('error', failed(s)); v.addEventListener('error', failed(v));
s.addEventListener('loadedmetadata', () => { result.stream_duration = s.duration; say(); });
v.addEventListener('loadedmetadata', () => { result.metadata_duration = v.duration; v.currentTime = v.duration / 2; });
v.addEventListener('seeked', () => {
  const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data, grid = [];
  for (let gy = 0; gy < n; gy++) for (let gx = 0; gx < n; gx++) {
    const x0 = Math.floor(gx * c.width / n), x1 = Math.floor((gx + 1) * c.width / n);
    const y0 = Math.floor(gy * c.height / n), y1 = Math.floor((gy + 1) * c.height / n);
    const s = [0, 0, 0]; let k = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
      const i = 4 * (y * c.width + x); s[0] += d[i]; s[1] += d[i + 1]; s[2] += d[i + 2]; k++;
    }
    grid.push(s.map(t => t / k));
  }
  result.seek = {time: v.currentTime, width: c.width, height: c.height, grid: grid}; say();
});
s.src = 'stream.mp4'; v.src = 'video.mp4';
</script></body></html>""" % GRID


def chromium() -> str | None:
    """The Chromium binary (Debian's package `chromium`), if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _Handler(BaseHTTPRequestHandler):
    """Serves the page and one video file, honouring `Range` as a web server does."""

    def __init__(self, *args, video: Path, **kwargs) -> None:
        self.video = video
        super().__init__(*args, **kwargs)

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        if self.path.startswith(("/video.mp4", "/stream.mp4")):
            self._video(ranges=self.path.startswith("/video.mp4"))
        else:
            body = PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _video(self, ranges: bool) -> None:
        data = self.video.read_bytes()
        match = re.match(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "")) if ranges else None
        start, end = 0, len(data) - 1
        if match:
            start = int(match.group(1) or 0)
            end = min(int(match.group(2)), end) if match.group(2) else end
        chunk = data[start:end + 1]
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Accept-Ranges", "bytes" if ranges else "none")
        self.send_header("Content-Length", str(len(chunk)))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        try:
            self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser cancels reads it no longer needs


def browser_view(video: Path, timeout: float = 60.0) -> dict:
    """What headless Chromium reports for `video` served over HTTP (see the module doc)."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, video=Path(video)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with tempfile.TemporaryDirectory(prefix="emocam-chromium-") as profile:
            command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
                       f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom",
                       f"http://127.0.0.1:{server.server_address[1]}/"]
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "HOME": profile})
    finally:
        server.shutdown()
        server.server_close()
    found = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    if not found or found.group(1) == "pending":
        raise RuntimeError(f"chromium gave no result (exit {done.returncode}): {done.stderr[-500:]}")
    return json.loads(found.group(1).replace("&quot;", '"'))


def frame_at(video: Path, time: float) -> np.ndarray:
    """The RGB frame PyAV shows at `time` s: the last one whose timestamp is not after it."""
    shown = None
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time > time + 1e-6 and shown is not None:
                break
            shown = frame.to_ndarray(format="rgb24")
    assert shown is not None, f"{video} has no frames"
    return shown


def grid_means(image: np.ndarray, n: int = GRID) -> np.ndarray:
    """Mean RGB in an n x n grid of cells, cut as the page cuts them."""
    h, w = image.shape[:2]
    out = np.zeros((n * n, 3))
    for gy in range(n):
        for gx in range(n):
            cell = image[gy * h // n:(gy + 1) * h // n, gx * w // n:(gx + 1) * w // n]
            out[gy * n + gx] = cell.reshape(-1, 3).mean(axis=0)
    return out


def real_duration(video: Path) -> float:
    """The file's real duration: where its last packet (video or audio) ends, from the packets, not the index."""
    with av.open(str(video)) as container:
        streams = [s for s in container.streams if s.type in ("video", "audio")]
        ends = [float((p.pts + (p.duration or 0)) * p.time_base) for p in container.demux(streams) if p.pts is not None]
    return max(ends)


def top_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (a regular file: ftyp, moov, ..., mdat, and no moof)."""
    data = Path(path).read_bytes()
    boxes, at = [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[at + 8:at + 16], "big")
        boxes.append(kind)
        if size < 8:
            break  # 0: to the end of the file
        at += size
    return boxes


def assert_regular_mp4(path: Path) -> None:
    """A finished file: its index (moov) before the media, no fragments."""
    boxes = top_boxes(path)
    assert "moof" not in boxes, f"{path.name} is fragmented: {boxes[:8]}"
    assert boxes.index("moov") < boxes.index("mdat"), f"{path.name} has its index at the end: {boxes}"


def assert_browser_plays_whole(path: Path, tolerance_s: float = 0.1, max_pixel_diff: float = 6.0) -> dict:
    """Chromium reads the true duration (streamed, no ranges) and shows the right frame at the middle."""
    seen = browser_view(path)
    assert "error" not in seen, f"chromium could not play {path.name}: {seen['error']}"
    true = real_duration(path)
    assert abs(seen["stream_duration"] - true) <= tolerance_s, (
        f"chromium reads {path.name} as {seen['stream_duration']:.2f} s, it lasts {true:.2f} s")
    assert abs(seen["metadata_duration"] - true) <= tolerance_s
    seek = seen["seek"]
    assert abs(seek["time"] - true / 2) < 0.1
    shown = np.array(seek["grid"])
    expected = grid_means(frame_at(path, seek["time"]))
    first = grid_means(frame_at(path, 0.0))
    diff = float(np.abs(shown - expected).mean())
    assert diff <= max_pixel_diff, f"chromium's middle frame differs from PyAV's by {diff:.1f} levels"
    return {"duration": seen["stream_duration"], "true": true, "pixel_diff": diff,
            "diff_to_first": float(np.abs(shown - first).mean())}


def need_chromium() -> None:
    """Skip where Chromium is not installed, but fail in CI (which installs Debian's `chromium`)."""
    import pytest

    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI installs the Debian package `chromium`)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
