"""replication.md (the claims table and the jobs table) and one figure per claim."""
from __future__ import annotations

import json
import platform
from pathlib import Path

from omegaconf import OmegaConf


def _rows_per_person(job_name: str) -> int:
    """Rows of one person in a job's sample grid: outputs (+ stage-1 outputs for two-step nets), truth."""
    return 3 if job_name.startswith(("sgd_", "two_step", "joint")) else 2


def claim_figure(claim, results: dict, out: Path) -> Path | None:
    """claim_<id>.png: the first sample person of each of the claim's jobs and of its controls and
    sensitivity jobs (enlarged, labelled with the end state) and, for claims about training, their
    curves; the photograph's edits for claim 10."""
    from expr_gan.replication.figures import first_person, labelled_stack, last_grid, line_chart, save, side_by_side
    from expr_gan.replication.measures import scalar_history
    from PIL import Image

    panels = []
    for job in (*claim.jobs, *claim.extra_jobs):  # the claim's jobs, then its controls and sensitivity rows
        if job not in results:
            continue
        run = results[job]["dir"]
        grid = last_grid(run)
        if grid is not None and (run / "config.yaml").is_file():
            size = int(OmegaConf.load(run / "config.yaml").data.size)
            scale = max(1, 128 // size)
            panel = first_person(grid, _rows_per_person(job), size)
            end = results[job].get("extra", {}).get("state")
            rows = "outputs, stage 1, truth" if _rows_per_person(job) == 3 else "outputs, truth"
            panels.append((f"{job}{f' ({end})' if end else ''}: {rows}",
                           panel.resize((panel.width * scale // 2, panel.height * scale // 2), Image.NEAREST)))
    if claim.id == "10" and (results["dcgan"]["dir"] / "photo.png").is_file():
        photo = Image.open(results["dcgan"]["dir"] / "photo.png").convert("RGB")
        panels.append(("the photograph, then the cGAN's output for each of the 6 targets", photo))
    charts = []
    for tag in claim.curves:
        series = {job: [(float(s), v) for s, v in scalar_history(results[job]["dir"], tag)] for job in claim.jobs}
        if any(series.values()):
            charts.append(line_chart(series, tag, "training batch"))
    if not panels and not charts:
        return None
    parts = ([labelled_stack(panels)] if panels else []) + charts
    image = side_by_side(parts) if len(parts) <= 2 else side_by_side([parts[0], _column(parts[1:])])
    return save(image, out / f"claim_{claim.id}.png")


def _column(images):
    from PIL import Image

    out = Image.new("RGB", (max(i.width for i in images), sum(i.height + 6 for i in images)), "white")
    y = 0
    for image in images:
        out.paste(image, (0, y))
        y += image.height + 6
    return out


def _cell(text: str) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def markdown(rows: list[dict], extras: list[dict], budget: str, out: Path, results: dict, minutes: float,
             revisions: list[dict] = ()) -> str:
    """The replication section: how it was run, the claims table (with each job's end state), the
    controls and sensitivity rows, the revision log (each revised test's verdict under its old rule) and
    the jobs with their cost."""
    import torch

    fit = {name: json.loads((r["dir"] / "run_info.json").read_text()) for name, r in results.items()
           if (r["dir"] / "run_info.json").is_file()}
    total_fit = sum(f["fit_seconds"] for f in fit.values()) / 60
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"{platform.machine()} CPU x{torch.get_num_threads()} threads"
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("reproduced", "partly", "not reproduced",
                                                                 "not at end state", "not run")}
    lines = [f"`python -m expr_gan.replicate budget={budget}` on {device}: {len(rows)} claims, "
             + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + f"; training {total_fit:.1f} min in all, "
             f"this call {minutes:.1f} min (jobs already finished are not rerun). Figures: `claim_<n>.png` in {out}.",
             "", "| # | report | the report says | setting | test (fixed in code) | end state | measured | verdict | why |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        states = "; ".join(f"{j}: {s}" for j, s in r.get("states", {}).items())
        lines.append("| " + " | ".join(_cell(r[k]) for k in ("claim", "where", "report", "setting", "test"))
                     + f" | {_cell(states)} | {_cell(r['measured'])} | **{r['verdict']}** | {_cell(r['why'])} |")
    if extras:
        lines += ["", "Controls (the same family and budget with the one change that must make it learn) and "
                  "sensitivity rows (readings of the report that fail, kept as measured):", "",
                  "| claim | job | role | what it is | end state | measured | control holds |", "|---|---|---|---|---|---|---|"]
        for x in extras:
            lines.append("| " + " | ".join(_cell(x[k]) for k in ("claim", "job", "role", "about", "state", "measured", "holds"))
                         + " |")
    if revisions:
        lines += ["", "Revision log (expr_gan/replication/preregistration.py): every test changed after a run had been "
                  "seen, and the verdict its old rule gives on this run's measurements (a state revision: the claims "
                  "whose verdict it changes):", "",
                  "| revision | commit | what | old rule | new rule | why | claim | verdict now | under the old rule |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for v in revisions:
            lines.append("| " + " | ".join(_cell(v[k]) for k in ("revision", "commit", "what", "old", "new", "why",
                                                                  "claim", "verdict_now", "verdict_old_rule")) + " |")
    lines += ["", "| job | role | status | end state | epochs | batches | training min |", "|---|---|---|---|---:|---:|---:|"]
    from expr_gan.replication.jobs import JOBS

    for name, r in results.items():
        f = fit.get(name, {})
        status = r["status"] if r["status"] == "ok" else f"failed: {_cell(r.get('error', ''))}"
        end = r.get("extra", {}).get("state", "")
        role = JOBS[name].role if name in JOBS else ""
        lines.append(f"| {name} | {role} | {status} | {end} | {f.get('epochs', '')} | {f.get('batches', '')} | "
                     + (f"{f['fit_seconds'] / 60:.1f} |" if f else " |"))
    return "\n".join(lines) + "\n"
