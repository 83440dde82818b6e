"""`python -m expr_gan.report dir=DIR`: one table from many runs.

DIR may be a Hydra multirun directory (one numbered job per sub-directory: `.hydra/overrides.yaml`,
`metrics.json` when the job finished) or a directory of `expr_gan.evaluate` outputs (their
metrics.json hold a model row and the copy / oracle baselines). Writes report.md, report.csv and a
bar chart report.png of the sort metric into DIR (or `out`), sorted by `sort` (descending unless
`ascending=true`). Jobs without metrics appear as failed, with the error from their log. Where DIR
holds `evaluate photos=...` outputs (photo_scores.json), also photo_report.md: the photo scorecard
per editor and target, mean and range across those runs (expr_gan/photo/across_runs.py).
Options: conf/report.yaml.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from expr_gan.errors import DataError, UsageError



def _overrides(job: Path) -> list[str]:
    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    import yaml

    return [str(o) for o in (yaml.safe_load(path.read_text()) or [])]


def _error(job: Path) -> str:
    if (job / "error.txt").is_file():
        return (job / "error.txt").read_text(errors="replace").splitlines()[0][:200]
    for name in ("train.log",):
        path = job / name
        if path.is_file():
            lines = [ln for ln in path.read_text(errors="replace").splitlines() if "Error" in ln or "error" in ln]
            if lines:
                return lines[-1].strip()[:200]
    return "no metrics.json (job failed or did not finish)"


def _columns(metrics: dict) -> dict:
    """The table's metric columns of one evaluation (NaN where an older evaluation lacks one)."""
    from expr_gan.metrics.registry import table_columns

    return {k: float(metrics.get(k, float("nan"))) for k in table_columns()}


def collect(root: Path) -> list[dict]:
    """One row per job / evaluation under `root` (recursively, by metrics.json or .hydra)."""
    rows = []
    jobs = sorted({p.parent for p in root.rglob("metrics.json")} | {p.parent.parent for p in root.rglob(".hydra/overrides.yaml")})
    for job in jobs:
        metrics_path = job / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
        name = job.relative_to(root).as_posix() or job.name
        if metrics and "baselines" in metrics:  # an expr_gan.evaluate output
            extra = {"train_min": round(metrics["fit_seconds"] / 60, 1) if metrics.get("fit_seconds") else "",
                     "hardware": metrics.get("hardware") or ""}
            rows.append({"job": metrics.get("name") or name, "status": "ok", **_columns(metrics), **extra})
            for base, values in metrics["baselines"].items():
                rows.append({"job": f"baseline: {base}", "status": "ok", **_columns(values)})
        elif metrics is not None:
            rows.append({"job": name, "status": "ok", "overrides": _overrides(job), **metrics})
        else:
            rows.append({"job": name, "status": "failed", "overrides": _overrides(job), "error": _error(job)})
    # show only the overrides that differ between jobs
    lists = [r["overrides"] for r in rows if isinstance(r.get("overrides"), list)]
    common = set.intersection(*map(set, lists)) if lists else set()
    for r in rows:
        if isinstance(r.get("overrides"), list):
            r["overrides"] = " ".join(o for o in r["overrides"] if o not in common)
    # baselines once, keeping the first occurrence
    seen, unique = set(), []
    for row in rows:
        if row["job"].startswith("baseline:"):
            if row["job"] in seen:
                continue
            seen.add(row["job"])
        unique.append(row)
    return unique


def _format(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_report(rows: list[dict], out: Path, sort: str, ascending: bool = False) -> str:
    """Write report.md / report.csv / report.png; returns the markdown."""
    from expr_gan.io import atomic_write, atomic_write_text

    ok = [r for r in rows if r["status"] == "ok" and isinstance(r.get(sort), (int, float))]
    rest = [r for r in rows if r not in ok]
    ok.sort(key=lambda r: r[sort], reverse=not ascending)
    ordered = ok + rest
    metric_cols = sorted({k for r in rows for k, v in r.items() if isinstance(v, float) and k != "train_min"},
                         key=lambda k: (k != sort, k))
    columns = ["job", "status"] + (["overrides"] if any(r.get("overrides") for r in rows) else []) + metric_cols
    columns += [c for c in ("train_min", "hardware") if any(r.get(c) for r in rows)]
    columns += ["error"] if any("error" in r for r in rows) else []
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_format(r.get(c, "")) for c in columns) + " |" for r in ordered]
    markdown = "\n".join(lines) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(ordered)
    atomic_write_text(out / "report.md", markdown)
    atomic_write_text(out / "report.csv", buffer.getvalue())
    atomic_write(out / "report.png", lambda tmp: _bar_chart(ok, sort, tmp))
    return markdown


def _bar_chart(rows: list[dict], metric: str, path: Path) -> None:
    from PIL import Image, ImageDraw

    height = 30 + 22 * max(len(rows), 1)
    img = Image.new("RGB", (720, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((6, 6), metric, fill="black")
    top = max([abs(r[metric]) for r in rows] + [1e-12])
    for i, row in enumerate(rows):
        y = 28 + 22 * i
        draw.text((6, y + 4), str(row["job"])[:40], fill="black")
        width = int(380 * abs(row[metric]) / top)
        draw.rectangle([270, y, 270 + width, y + 16], fill=(70, 110, 200))
        draw.text((275 + width, y + 4), _format(row[metric]), fill="black")
    img.save(path, format="PNG")


def main(argv: list[str]) -> int:
    """Parse arguments, collect the rows, write and print the report."""
    from expr_gan.commands.command import command_config

    opts = command_config("report", argv, __doc__)
    if opts is None:
        return 0
    root = Path(opts.dir)
    if not root.is_dir():
        raise UsageError(f"dir={root} is not a directory")
    from expr_gan.photo import across_runs

    rows, photo_scores = collect(root), across_runs.find_scores(root)
    if not rows and not photo_scores:
        raise DataError(f"dir={root} holds no jobs (no metrics.json, .hydra/overrides.yaml or photo_scores.json below it)")
    out = Path(opts.out or root)
    if rows:
        sort = opts.sort or ("expr_acc" if any("expr_acc" in r for r in rows) else "val/loss_rec")
        print(write_report(rows, out, sort, bool(opts.ascending)))
    if photo_scores:  # evaluate photos=... runs: the photo scorecard across them (e.g. training seeds)
        from expr_gan.io import atomic_write_text

        table = across_runs.markdown(photo_scores)
        atomic_write_text(out / "photo_report.md", table)
        print(f"photos across runs ({out / 'photo_report.md'}):\n\n{table}")
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
