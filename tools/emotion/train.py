"""Train the seed's emotion CNN on ExpW, FER2013 or a folder per class; report and export to ONNX.

    python -m tools.emotion.train --data data/ExpW/label/label.lst --out runs/emotion-expw
    python -m tools.emotion.train --data fer2013.csv --epochs 50 --size 128

Seed 000, sections 3.2, 4.2, 4.3: 128x128x3 input, Adam 1e-3, batch 16, 50 epochs, sparse categorical
cross-entropy, 70/20/10 split (seeded, stratified; FER2013's Usage column or train/val/test folders
are honoured), classes balanced by random rotations up to --balance faces per class. Balancing is
done on the training split only (re-drawn every epoch), so validation and test faces stay real and
unseen; classes above --balance are subsampled to it each epoch.

Writes to --out: <name>.keras, <name>.onnx (emocam metadata, checked against Keras), <name>.manifest.json,
report.json, report.md, confusion.png (test split) and curves.png.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emocam.errors import EmocamError
from tools.common.args import ToolParser
from tools.emotion import report
from tools.emotion.formats import load_dataset
from tools.emotion.data import (CROP_MARGIN, EMOTIONS, FORMATS, SPLITS, TEST, TRAIN, VAL, EmotionSet,
                                assign_split, limit_per_class, load_images, warn)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = ToolParser(prog="python -m tools.emotion.train", description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="dataset: ExpW label.lst, fer2013.csv or a folder")
    ap.add_argument("--format", choices=FORMATS, help="dataset format (detected when omitted)")
    ap.add_argument("--images", type=Path, help="ExpW picture folder (default: origin/ beside label.lst)")
    ap.add_argument("--margin", type=float, default=CROP_MARGIN, help="ExpW face box margin (share of its side)")
    ap.add_argument("--out", type=Path, default=Path("runs/emotion"), help="output folder")
    ap.add_argument("--name", help="model file name stem (default: emotion_cnn_<dataset>)")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--size", type=int, default=128, help="input size (the seed's 128; smaller for quick runs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, help="at most this many faces per class (chosen at random)")
    ap.add_argument("--balance", type=int,
                    help="training faces per class and epoch, topped up by rotations "
                         "(default: the largest training class; 0: no balancing)")
    ap.add_argument("--rotate", type=float, default=15.0, help="max rotation of balancing copies, degrees")
    ap.add_argument("--keep", choices=("best", "last"), default="best",
                    help="weights to keep: best validation accuracy or the last epoch")
    args = ap.parse_args(argv)
    for key in ("epochs", "batch", "size"):
        if getattr(args, key) < 1:
            raise EmocamError(f"--{key} must be at least 1")
    if args.size < 8:
        raise EmocamError("--size must be at least 8")
    if args.lr <= 0:
        raise EmocamError("--lr must be positive")
    if args.limit is not None and args.limit < 1:
        raise EmocamError("--limit must be at least 1")
    if args.balance is not None and args.balance < 0:
        raise EmocamError("--balance must be 0 or more")
    return args


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate a square RGB crop about its centre, reflecting at the border."""
    size = image.shape[0]
    m = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), degrees, 1.0)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def epoch_plan(labels: np.ndarray, target: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(indices, is_copy) for one epoch: `target` faces per class, shuffled.

    A class with fewer faces keeps all of them plus copies drawn at random (rotated later); a larger
    class gives a random `target` of its faces. target 0 means every face once, no copies.
    """
    idx_parts, copy_parts = [], []
    for c in range(len(EMOTIONS)):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        if target == 0:
            chosen, copies = idx, np.zeros(len(idx), bool)
        elif len(idx) >= target:
            chosen, copies = rng.choice(idx, target, replace=False), np.zeros(target, bool)
        else:
            extra = rng.choice(idx, target - len(idx), replace=True)
            chosen = np.concatenate([idx, extra])
            copies = np.concatenate([np.zeros(len(idx), bool), np.ones(len(extra), bool)])
        idx_parts.append(chosen)
        copy_parts.append(copies)
    order = rng.permutation(sum(len(p) for p in idx_parts))
    return np.concatenate(idx_parts)[order], np.concatenate(copy_parts)[order]


def make_batches(images: np.ndarray, labels: np.ndarray, target: int, batch: int, max_degrees: float,
                 seed: int) -> Any:
    """A keras PyDataset of balanced training batches, re-drawn every epoch."""
    import keras

    from tools.emotion.model import to_unit_range

    class BalancedBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def on_epoch_end(self) -> None:
            self.indices, self.copies = epoch_plan(labels, target, self.rng)

        def __len__(self) -> int:
            return math.ceil(len(self.indices) / batch)

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            sel = slice(i * batch, (i + 1) * batch)
            idx, copies = self.indices[sel], self.copies[sel]
            x = images[idx]
            for j in np.flatnonzero(copies):
                x[j] = rotate(x[j], self.rng.uniform(-max_degrees, max_degrees))
            return to_unit_range(x), labels[idx]

    return BalancedBatches()


def model_name(data: EmotionSet, name: str | None) -> str:
    return name or f"emotion_cnn_{data.name.lower()}"


def write_markdown(path: Path, rep: dict[str, Any]) -> None:
    """report.md: what was trained on what, how, and how well."""
    d, t, r = rep["dataset"], rep["training"], rep["results"]
    lines = [
        f"# Emotion CNN trained on {d['name']}", "",
        f"Command: `{rep['command']}`", "",
        f"Dataset: {d['name']} at `{d['path']}`, {d['faces']} faces.", "",
        "| split | " + " | ".join(EMOTIONS) + " | total |", "| --- |" + " ---: |" * (len(EMOTIONS) + 1),
    ]
    for split in SPLITS:
        counts = d["counts"][split]
        lines.append(f"| {split} | " + " | ".join(str(counts[e]) for e in EMOTIONS) + f" | {sum(counts.values())} |")
    lines += [""] + [f"Note: {n}" for n in d["notes"]] + [
        "",
        f"Training: input {t['size']}x{t['size']}x3 RGB scaled to 0..1, {t['epochs']} epochs, batch {t['batch']}, "
        f"Adam lr {t['lr']}, seed {t['seed']}; {t['balance_note']}; kept the {t['keep']} weights "
        f"(epoch {r['kept_epoch']}); {t['seconds']:.0f} s.", "",
        f"At the kept epoch: train loss {r['train_loss']:.4f}, train accuracy {100 * r['train_accuracy']:.1f}%, "
        f"validation loss {r['val_loss']:.4f}, validation accuracy {100 * r['val_accuracy']:.1f}%.", "",
        "## Test split", "", report.metrics_table(r["test"]), "", report.confusion_table(r["test"]), "",
        "![confusion matrix](confusion.png)", "", "![training curves](curves.png)", "",
        f"ONNX: `{rep['files']['onnx']}` (opset 17), max |ONNX - Keras| = {rep['export_max_diff']:.2e}.", "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def train(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Load, split, balance, train, evaluate, export; returns the report dict."""
    data = load_dataset(args.data, args.format, args.images, args.margin)
    if args.limit:
        data = limit_per_class(data, args.limit, args.seed)
    split = assign_split(data, args.seed)
    parts = {s: np.flatnonzero(split == k) for s, k in zip(SPLITS, (TRAIN, VAL, TEST))}
    for s, idx in parts.items():
        if len(idx) == 0:
            raise EmocamError(f"{data.source}: the {s} split is empty ({len(data)} faces); use more data")
    y = {s: data.labels[idx] for s, idx in parts.items()}
    train_counts = np.bincount(y["train"], minlength=len(EMOTIONS))
    for e, n in zip(EMOTIONS, train_counts):
        if n == 0:
            warn(f"no {e} faces in the training split: the model cannot learn it")
    target = int(train_counts.max()) if args.balance is None else args.balance
    print(f"{data.name}: {len(data)} faces; train {len(parts['train'])}, val {len(parts['val'])}, "
          f"test {len(parts['test'])}; loading crops at {args.size}x{args.size}", flush=True)
    x = {s: load_images(data, idx, args.size, progress=f"{s} crops") for s, idx in parts.items()}

    import keras

    from tools.emotion.model import build_model, compile_model, export_onnx, to_unit_range

    model = build_model(args.size, seed=args.seed)
    compile_model(model, args.lr)
    batches = make_batches(x["train"], y["train"], target, args.batch, args.rotate, args.seed)
    best: dict[str, Any] = {"acc": -1.0, "epoch": 0, "weights": None}

    class KeepBest(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            acc = (logs or {}).get("val_accuracy", -1.0)
            if args.keep == "last" or acc > best["acc"]:
                best.update(acc=acc, epoch=epoch + 1, weights=self.model.get_weights())

    start = time.time()
    hist = model.fit(batches, epochs=args.epochs, validation_data=(to_unit_range(x["val"]), y["val"]),
                     callbacks=[KeepBest()], verbose=2)
    seconds = time.time() - start
    model.set_weights(best["weights"])
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}

    pred = np.argmax(model.predict(to_unit_range(x["test"]), batch_size=64, verbose=0), axis=1)
    test = report.metrics(y["test"], pred, EMOTIONS)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    name = model_name(data, args.name)
    keras_path, onnx_path = out / f"{name}.keras", out / f"{name}.onnx"
    model.save(keras_path)
    diff = export_onnx(model, onnx_path, EMOTIONS, x["test"][:32])
    write_manifest_entry(onnx_path, data, command, args.size)
    report.plot_confusion(test, out / "confusion.png", f"{name}: test split")
    report.plot_curves(history, out / "curves.png")

    k = best["epoch"] - 1
    if args.balance == 0:
        balance_note = "no class balancing"
    else:
        balance_note = (f"balanced to {target} faces per class and epoch "
                        f"(rotated copies up to +-{args.rotate:g} degrees)")
    rep = {
        "command": command,
        "dataset": {
            "name": data.name, "path": data.source, "faces": len(data), "notes": data.notes,
            "counts": {s: dict(zip(EMOTIONS, np.bincount(y[s], minlength=len(EMOTIONS)).tolist())) for s in SPLITS},
            "split": "dataset's own" if data.split is not None else "seeded stratified 70/20/10",
        },
        "training": {"epochs": args.epochs, "batch": args.batch, "lr": args.lr, "size": args.size,
                     "seed": args.seed, "limit": args.limit, "balance": target if args.balance != 0 else 0,
                     "balance_note": balance_note, "rotate": args.rotate, "keep": args.keep,
                     "margin": args.margin, "seconds": seconds},
        "history": history,
        "results": {"kept_epoch": best["epoch"], "train_loss": history["loss"][k],
                    "train_accuracy": history["accuracy"][k], "val_loss": history["val_loss"][k],
                    "val_accuracy": history["val_accuracy"][k], "test": test},
        "export_max_diff": diff,
        "out": str(out),
        "files": {"keras": keras_path.name, "onnx": onnx_path.name, "manifest": f"{name}.manifest.json",
                  "confusion": "confusion.png", "curves": "curves.png"},
    }
    report.write_json(out / "report.json", rep)
    write_markdown(out / "report.md", rep)
    return rep


def write_manifest_entry(onnx_path: Path, data: EmotionSet, command: str, size: int) -> None:
    """<name>.manifest.json beside the ONNX: {file name: entry}, ready to merge into models/manifest.json."""
    from emocam.modelstore.manifest import sha256_file
    from tools.emotion.model import input_spec

    entry = {
        "file": onnx_path.name,
        "sha256": sha256_file(onnx_path),
        "size": onnx_path.stat().st_size,
        "source": command,
        "license": f"trained by you on {data.name} ({data.source}); the dataset's terms of use apply",
        "input": input_spec(size),
        "labels": list(EMOTIONS),
    }
    report.write_json(onnx_path.with_name(onnx_path.stem + ".manifest.json"), {onnx_path.name: entry})


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    command = "python -m tools.emotion.train " + shlex.join(raw)
    try:
        rep = train(parse_args(raw), command)
    except (EmocamError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    r = rep["results"]
    print(report.metrics_table(r["test"]))
    print(f"wrote {rep['files']['onnx']} (max |ONNX - Keras| {rep['export_max_diff']:.1e}), "
          f"report.md, confusion.png and curves.png in {rep['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
