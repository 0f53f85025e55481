"""ms per face at 640x480 (tools.expression.evaluate's speed()) of this tree against a git revision, measured
side by side: the two run in turns, a fresh process each, so a shared machine's load falls on both alike.

    python -m tools.expression.compare_speed --before HEAD~1 --rounds 3
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import json\nfrom tools.expression.evaluate import Bench, speed\nb = Bench()\n"
         "print(json.dumps(speed(b)))\nb.close()\n")


def measure(tree: Path) -> dict[str, float]:
    """One speed() run in a fresh process on the code in `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tree, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.expression.compare_speed",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="HEAD", help="git revision to compare against (default HEAD)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", args.before, "emocam", "tools"], cwd=ROOT, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            runs["before"].append(measure(Path(tmp)))
            runs["after"].append(measure(ROOT))
    keys = [k for k in runs["after"][0] if k.endswith(("_best", "_median"))]
    result = {side: {k: round(float(np.median([r[k] for r in rs])), 2) for k in keys} for side, rs in runs.items()}
    result["ratio_after_over_before"] = {k: round(result["after"][k] / result["before"][k], 3) for k in keys}
    result["load_average_1min"] = [r["load_average_1min"] for side in ("before", "after") for r in runs[side]]
    result["before_rev"] = args.before
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
