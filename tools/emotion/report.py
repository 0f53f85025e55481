"""Emotion classifier metrics (accuracy, per-class precision/recall, confusion matrix) and their reports:
report.json, a readable report.md, confusion-matrix and training-curve PNGs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """Counts [true, predicted]."""
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/support, macro averages and the confusion matrix.

    Precision of a never-predicted class and recall of an absent class are None (undefined).
    """
    cm = confusion(y_true, y_pred, len(labels))
    total = int(cm.sum())
    per_class = {}
    for i, name in enumerate(labels):
        predicted, support = int(cm[:, i].sum()), int(cm[i, :].sum())
        per_class[name] = {
            "precision": cm[i, i] / predicted if predicted else None,
            "recall": cm[i, i] / support if support else None,
            "support": support,
        }
        per_class[name] = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in per_class[name].items()}

    def mean(key: str) -> float | None:
        vals = [c[key] for c in per_class.values() if c[key] is not None]
        return float(np.mean(vals)) if vals else None

    return {
        "samples": total,
        "accuracy": float(np.trace(cm) / total) if total else None,
        "macro_precision": mean("precision"),
        "macro_recall": mean("recall"),
        "per_class": per_class,
        "labels": list(labels),
        "confusion": cm.tolist(),
    }


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def metrics_table(m: dict[str, Any]) -> str:
    """A plain-text (and Markdown) table of one metrics dict."""
    lines = [f"accuracy {_pct(m['accuracy'])} on {m['samples']} faces "
             f"(macro precision {_pct(m['macro_precision'])}, macro recall {_pct(m['macro_recall'])})",
             "", "| class | precision | recall | support |", "| --- | ---: | ---: | ---: |"]
    for name, c in m["per_class"].items():
        lines.append(f"| {name} | {_pct(c['precision'])} | {_pct(c['recall'])} | {c['support']} |")
    return "\n".join(lines)


def confusion_table(m: dict[str, Any]) -> str:
    """The confusion matrix as a Markdown table (rows true, columns predicted)."""
    labels = m["labels"]
    lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    for name, row in zip(labels, m["confusion"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def plot_confusion(m: dict[str, Any], path: Path, title: str = "Confusion matrix") -> None:
    """Row-normalised confusion matrix PNG with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(m["confusion"], np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    labels = m["labels"]
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=9)
    ax.set_title(f"{title}\naccuracy {_pct(m['accuracy'])}, {m['samples']} faces")
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of true class")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_curves(history: dict[str, list[float]], path: Path) -> None:
    """Loss and accuracy per epoch, train and validation, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for ax, key in zip(axes, ("loss", "accuracy")):
        for prefix, name in (("", "train"), ("val_", "validation")):
            values = history.get(prefix + key)
            if values:
                ax.plot(epochs, values, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Pretty JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
