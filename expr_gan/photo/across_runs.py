"""The photo scorecard over several runs (training seeds): per editor and target, each referee's share
or median per run, then their mean and range across runs. Read by `python -m expr_gan.report` from
every `photo_scores.json` below its `dir` (written by `evaluate photos=...`).

A deterministic editor (copy, the landmark warp) scores the same in every run: its range is a check
that the runs judged the same faces.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# (column, how one run's rows of an editor and target become one number)
COLUMNS = {
    "face found": lambda rows: _mean([r["face_found"] for r in rows]),
    "identity median": lambda rows: _median([r["identity"] for r in rows]),
    "re-identified (rank-1)": lambda rows: _mean([r.get("reidentified") for r in rows]),
    "geometry moved": lambda rows: _mean([r["moved"] for r in rows]),
    "classifier agrees": lambda rows: _mean([r.get("emotion_agrees") for r in rows]),
}


def _mean(values: list) -> float | None:
    known = [float(v) for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _median(values: list) -> float | None:
    known = [float(v) for v in values if v is not None]
    return float(np.median(known)) if known else None


def find_scores(root: Path) -> dict[str, list[dict]]:
    """Every photo_scores.json below `root`, by its run directory (relative to `root`)."""
    found = {}
    for path in sorted(root.rglob("photo_scores.json")):
        run = path.parent.parent if path.parent.name == "photos" else path.parent
        found[str(run.relative_to(root)) or "."] = json.loads(path.read_text())
    return found


def per_run(scores: dict[str, list[dict]]) -> dict[tuple[str, str, str], list[float]]:
    """(editor, target, column) -> one value per run that has it."""
    values: dict = {}
    for rows in scores.values():
        for editor in dict.fromkeys(r["editor"] for r in rows):
            for target in dict.fromkeys(r["target"] for r in rows):
                own = [r for r in rows if r["editor"] == editor and r["target"] == target]
                for column, reduce in COLUMNS.items():
                    value = reduce(own) if own else None
                    if value is not None:
                        values.setdefault((editor, target, column), []).append(value)
    return values


def _cell(values: list[float] | None, runs: int) -> str:
    if not values:
        return "-"
    text = f"{np.mean(values):.2f}"
    if len(values) > 1:
        text += f" ({min(values):.2f}-{max(values):.2f})"
    return text + ("" if len(values) == runs else f" [{len(values)} runs]")


def markdown(scores: dict[str, list[dict]]) -> str:
    """Per editor a table: per target, each column's mean over the runs and (min-max) across them."""
    if not scores:
        raise ValueError("no photo_scores.json to summarise")
    values, runs = per_run(scores), len(scores)
    rows = [r for rs in scores.values() for r in rs]
    parts = [f"{runs} run(s): {', '.join(scores)}; shares and medians per run, then their mean (min-max across runs)"]
    header = "| target | " + " | ".join(COLUMNS) + " |\n|---|" + "---:|" * len(COLUMNS)
    for editor in dict.fromkeys(r["editor"] for r in rows):
        lines = [f"### {editor}\n", header]
        for target in dict.fromkeys(r["target"] for r in rows):
            cells = " | ".join(_cell(values.get((editor, target, c)), runs) for c in COLUMNS)
            lines.append(f"| {target} | {cells} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
