"""Evaluate an emotion model (.onnx with emocam metadata, or a .keras from train_emotion) on a labeled set.

    python -m tools.emotion.evaluate --model models/emotion_fer_minixception.onnx --data fer2013.csv
    python -m tools.emotion.evaluate --model runs/emotion/emotion_cnn_expw.onnx --data label.lst --split test

Prints accuracy, per-class precision and recall and the confusion matrix; with --out also writes
report.json, report.md and confusion.png. Faces are cropped as in training and fed to the model per
its own metadata (size, gray or RGB, layout, range); outputs are mapped onto the canonical order by label name.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from emocam.errors import EmocamError
from tools.common.args import ToolParser
from tools.emotion import report
from tools.emotion.formats import load_dataset
from tools.emotion.data import (CROP_MARGIN, EMOTIONS, FORMATS, SPLITS, assign_split, limit_per_class,
                                load_images)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = ToolParser(prog="python -m tools.emotion.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, type=Path, help=".onnx (emocam metadata) or .keras model")
    ap.add_argument("--data", required=True, type=Path, help="dataset: ExpW label.lst, fer2013.csv or a folder")
    ap.add_argument("--format", choices=FORMATS, help="dataset format (detected when omitted)")
    ap.add_argument("--images", type=Path, help="ExpW picture folder (default: origin/ beside label.lst)")
    ap.add_argument("--margin", type=float, default=CROP_MARGIN, help="ExpW face box margin (share of its side)")
    ap.add_argument("--split", choices=("auto", "all", *SPLITS), default="auto",
                    help="faces to use: auto = the dataset's own test split if it has one, else all; "
                         "train/val/test = the same seeded split train_emotion uses (same --seed and --limit)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, help="at most this many faces per class (as in train_emotion)")
    ap.add_argument("--out", type=Path, help="also write report.json, report.md and confusion.png here")
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        raise EmocamError("--limit must be at least 1")
    return args


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Metrics of the model on the chosen faces."""
    from tools.emotion.model import load_predictor

    predictor = load_predictor(args.model)
    data = load_dataset(args.data, args.format, args.images, args.margin)
    if args.limit:
        data = limit_per_class(data, args.limit, args.seed)
    split_name = args.split
    if split_name == "auto":
        split_name = "test" if data.split is not None else "all"
    if split_name == "all":
        idx = np.arange(len(data))
    else:
        idx = np.flatnonzero(assign_split(data, args.seed) == SPLITS.index(split_name))
    if len(idx) == 0:
        raise EmocamError(f"{data.source}: no faces in the {split_name} split")
    size = int(predictor.spec["size"][0])
    probs = predictor.predict(load_images(data, idx, size, progress="crops"))
    m = report.metrics(data.labels[idx], np.argmax(probs, axis=1), EMOTIONS)
    return {"model": str(args.model), "model_input": predictor.spec, "model_labels": predictor.labels,
            "dataset": {"name": data.name, "path": data.source, "split": split_name, "notes": data.notes},
            "metrics": m}


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(raw)
        rep = evaluate(args)
        rep["command"] = "python -m tools.emotion.evaluate " + shlex.join(raw)
        m, d = rep["metrics"], rep["dataset"]
        text = (f"{Path(rep['model']).name} on {d['name']} ({d['path']}), split {d['split']}\n\n"
                f"{report.metrics_table(m)}\n\n{report.confusion_table(m)}\n")
        print(text)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            report.write_json(args.out / "report.json", rep)
            report.plot_confusion(m, args.out / "confusion.png", f"{Path(rep['model']).name}: {d['name']} {d['split']}")
            md = f"# Evaluation\n\nCommand: `{rep['command']}`\n\n{text}\n![confusion matrix](confusion.png)\n"
            (args.out / "report.md").write_text(md, encoding="utf-8")
            print(f"wrote report.json, report.md and confusion.png in {args.out}")
    except (EmocamError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
