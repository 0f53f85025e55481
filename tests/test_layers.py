"""The layers hold: imports run one way (pyproject's import-linter contract), and no two modules import each
other, directly or around a loop, counting imports made inside functions too."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parent.parent


def test_the_layer_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # its banner draws with box characters, whatever the locale
    done = subprocess.run([str(lint), "--config", str(REPO / "pyproject.toml")], capture_output=True,
                          encoding="utf-8", errors="replace", cwd=REPO, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "emocam layers KEPT" in done.stdout


def test_no_import_cycles():
    graph = grimp.build_graph("emocam", exclude_type_checking_imports=True)
    cycles = sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                     if graph.find_shortest_chain(importer=b, imported=a)})
    assert cycles == []
