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
    """claim_<id>.png: the first sample person of each of the claim's jobs, of its controls and
    sensitivity jobs and of its seed jobs (enlarged, labelled with the end state) and, for claims
    about training, their curves; the photograph's edits for claim 10."""
    from expr_gan.replication.figures import first_person, labelled_stack, last_grid, line_chart, save, side_by_side
    from expr_gan.replication.measures import scalar_history
    from PIL import Image

    from expr_gan.replication.jobs import SEEDS, seed_name

    panels = []
    seeds = [seed_name(j, s) for s in SEEDS for j in claim.jobs] if claim.seeded else []
    for job in (*claim.jobs, *claim.extra_jobs, *seeds):  # the claim's jobs, its controls and readings, its seeds
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


SCALE = {  # what the data and the scale are, per budget: the table's first lines
    "tiny": "budget=tiny: 32 px, 16 rendered people, narrow nets, a few epochs: a wiring check, not a measurement.",
    "cpu": "budget=cpu: 32 px for claims 1-4 and 6-10 (the cGAN keeps the report's 16 x 16 bottleneck), 64 px for "
           "claim 5 (its head reads 64 x 64 maps as in the report), net width 16, the 300 embedded people; epochs "
           "chosen for a 2-core CPU (expr_gan/replication/jobs.py), not the report's.",
    "paper": "budget=paper: from the report, 128 px and the two-step's 4 epochs a stage (2.3.3: \"the result of 4 "
             "epochs\"); chosen here, the report giving none: the other epoch counts (the cGAN's 10, the joint "
             "network's 2 + 2, the SGD comparison's 2 + 2, claim 8's 450 further batches) and the widths.",
}
DATA = ("Data: the embedded procedural faces (expr_gan/data/synthetic.py), rendered, not photographed, in place of "
        "the report's CAS-PEAL-R1 (licensed, absent): a verdict here is about the report's methods on rendered faces, "
        "not on photographs; claim 10 alone edits a photograph. Where the report is silent each conf/experiment/"
        "paper_*.yaml names the reading it takes; the other readings are the sensitivity rows, each with the verdict "
        "its claim gets under it.")


def markdown(rows: list[dict], extras: list[dict], budget: str, out: Path, results: dict, minutes: float,
             revisions: list[dict] = ()) -> str:
    """The replication section: data and scale, the claims table (each job's end state, the verdict on
    its seeds and under each reading, its figure), the readings and seeds behind the verdicts, the
    controls and sensitivity rows, the revision log and the jobs with their cost."""
    import torch

    fit = {name: json.loads((r["dir"] / "run_info.json").read_text()) for name, r in results.items()
           if (r["dir"] / "run_info.json").is_file()}
    total_fit = sum(f["fit_seconds"] for f in fit.values()) / 60
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"{platform.machine()} CPU x{torch.get_num_threads()} threads"
    counts = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    changes = [r["claim"] for r in rows if r.get("verdict_shown", r["verdict"]) != r["verdict"]]
    lines = [DATA, "", SCALE[budget], "",
             f"`python -m expr_gan.replicate budget={budget}` on {device}: {len(rows)} claims, "
             + ", ".join(f"{n} {v}" for v, n in counts.items()) + " (the reading taken; on the seeds' mean where "
             "a claim has seeds)" + (f"; the verdict changes under another reading for claim(s) {', '.join(changes)}"
                                     if changes else "") + f"; training {total_fit:.1f} min in all, "
             f"this call {minutes:.1f} min (jobs already finished are not rerun). Figures: `claim_<n>.png` in {out}.",
             "", "| # | report | the report says | setting | test (fixed in code) | end state | measured | verdict | why | figure |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        states = "; ".join(f"{j}: {s}" for j, s in r.get("states", {}).items())
        claim = r["claim"] + (" (extrapolation)" if r.get("extrapolation") else "")
        figure = f"[{r['figure']}]({r['figure']})" if r.get("figure") else ""
        lines.append("| " + " | ".join(_cell(x) for x in (claim, r["where"], r["report"], r["setting"], r["test"]))
                     + f" | {_cell(states)} | {_cell(r['measured'])} | **{_cell(r.get('verdict_shown', r['verdict']))}**"
                       f" | {_cell(r['why'])} | {figure} |")
    readings = [(r["claim"], x) for r in rows for x in r.get("readings", [])]
    if readings:
        lines += ["", "Each claim under the other readings of the report (a sensitivity job standing in for the "
                  "claim's job; replication/readings.py):", "",
                  "| claim | reading | what it is | measured | verdict under it | why |", "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(v) for v in (c, x["reading"], x["about"], x["measured"], f"**{x['verdict']}**",
                                                       x["why"])) + " |" for c, x in readings]
    seeds = [(r["claim"], x) for r in rows for x in r.get("seeds", [])]
    if any(x["seed"] for _, x in seeds):
        lines += ["", "The seeded claims on each training seed (seed 0 is the jobs above; the verdict above is the "
                  "seeds' mean's when every seed agrees with it, else \"differs across seeds\"):", "",
                  "| claim | seed | end state | measured | verdict |", "|---|---|---|---|---|"]
        for c, x in seeds:
            states = "; ".join(f"{j}: {s}" for j, s in x["states"].items())
            lines.append("| " + " | ".join(_cell(v) for v in (c, x["seed"], states, x["measured"], x["verdict"])) + " |")
    if extras:
        lines += ["", "Controls (the same family and budget with the one change that must make it learn) and "
                  "sensitivity rows (other readings of the report, kept as measured):", "",
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
