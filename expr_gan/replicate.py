"""`python -m expr_gan.replicate [budget=cpu|paper|tiny]`: the report, run claim by claim.

Runs every job the claims need (expr_gan/replication/jobs.py) as `python -m expr_gan.train`, each in
its own directory under `out` (default outputs/replicate/<budget>), evaluates it on held-out people,
takes the claims' measures, and writes replication.md, replication.json and claim_<id>.png there.
Resumable: run it again and finished jobs are skipped, an interrupted one continues from its
last.ckpt; a job that fails is recorded (its error in the table) and the others go on.
Options: claims=1,2,... (a subset), max_pairs=N (held-out pairs per evaluation), photo=PATH (claim
10's photograph; default: matplotlib's Grace Hopper portrait when matplotlib is installed).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

USAGE = "usage: python -m expr_gan.replicate [budget=cpu|paper|tiny] [out=DIR] [claims=1,2,...] [max_pairs=N] [photo=PATH]"
MAX_PAIRS = {"tiny": 48, "cpu": 600, "paper": 900}


def run_job(job, budget: str, out: Path) -> dict:
    """Train one job (or finish it: metrics.json means done, last.ckpt means resume); returns its status."""
    run = out / "jobs" / job.name
    if (run / "metrics.json").is_file():
        return {"status": "ok", "dir": run}
    resume = ["ckpt_path=last"] if (run / "checkpoints" / "last.ckpt").is_file() else []
    cmd = [sys.executable, "-m", "expr_gan.train", *job.train_overrides(budget), f"hydra.run.dir={run}", *resume]
    run.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(run / "stdout.log", "a") as log:
        print(f"[replicate] {job.name}: {' '.join(cmd[3:])}", flush=True)
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
    seconds = round(time.perf_counter() - started, 1)
    if code == 0 and (run / "metrics.json").is_file():
        print(f"[replicate] {job.name}: done in {seconds} s", flush=True)
        return {"status": "ok", "dir": run}
    error = (run / "error.txt").read_text().splitlines()[0] if (run / "error.txt").is_file() else f"exit code {code}"
    print(f"[replicate] {job.name}: FAILED ({error})", flush=True)
    return {"status": "failed", "dir": run, "error": error}


def _cached(path: Path, compute) -> dict:
    from expr_gan.io import atomic_write_text

    if path.is_file():
        return json.loads(path.read_text())
    value = compute()
    atomic_write_text(path, json.dumps(value, indent=2))
    return value


def evaluate_job(job, run: Path, max_pairs: int, baselines: bool) -> dict:
    """expr_gan.evaluate on the job's last.ckpt (cached in evaluate.json)."""
    from expr_gan.evaluate import evaluate_checkpoint

    names = ("copy", "oracle", "aligned") if baselines else ()
    return _cached(run / "evaluate.json", lambda: evaluate_checkpoint(
        str(run / "checkpoints" / "last.ckpt"), list(job.eval_overrides), "test", max_pairs, baselines=names))


def job_measures(job, run: Path, max_pairs: int, photo: Path | None) -> dict:
    """The measures.py values a job's claims need (cached in measures.json)."""
    from expr_gan.replication import measures

    ckpt = run / "checkpoints" / "last.ckpt"

    def compute() -> dict:
        info = json.loads((run / "run_info.json").read_text())
        per_epoch = max(1, info["batches"] // max(info["epochs"], 1))
        extra = {"batches_per_epoch": per_epoch}
        if job.name.startswith(("sgd_", "two_step")):
            extra.update(measures.two_step_measures(ckpt, max_pairs, job.eval_overrides))
            from omegaconf import OmegaConf

            start = int(OmegaConf.load(run / "config.yaml").model.stage1_epochs) * per_epoch
            curve = measures.scalar_history(run, "train/G/loss_rec")
            extra["stage2"] = measures.convergence([(s - start, v) for s, v in curve if s >= start], per_epoch)
            extra["stage1"] = measures.convergence(measures.scalar_history(run, "train/G/loss_stage1"), per_epoch)
        if job.name == "dcgan" and photo is not None:
            result = measures.photo_measures(ckpt, photo)
            _photo_strip(result, run / "photo.png")
            extra["photo"] = {k: v for k, v in result.items() if k not in ("outputs", "input")}
        return extra

    return _cached(run / "measures.json", compute)


def _photo_strip(result: dict, path: Path) -> None:
    import torch

    from expr_gan.visual import save_png

    tiles = torch.cat([result["input"][None], result["outputs"]])
    save_png(torch.cat(list(tiles), dim=2), path)


def default_photo() -> Path | None:
    """matplotlib's bundled Grace Hopper portrait (a real face from outside the data), if installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return path if path.is_file() else None


def main(argv: list[str]) -> int:
    """Run the jobs, measure, decide every claim, write the table and the figures."""
    from expr_gan.cli import parse_args
    from expr_gan.io import atomic_write_text
    from expr_gan.replication.claims import CLAIMS
    from expr_gan.replication.jobs import BUDGETS, JOBS
    from expr_gan.replication.report import claim_figure, markdown

    opts, _ = parse_args(argv, {"budget", "out", "claims", "max_pairs", "photo"}, set(), USAGE)
    budget = opts.get("budget", "cpu")
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r}: expected one of {', '.join(BUDGETS)}")
    wanted = opts["claims"].split(",") if opts.get("claims") else [c.id for c in CLAIMS]
    unknown = [c for c in wanted if c not in {c.id for c in CLAIMS}]
    if unknown:
        raise ValueError(f"claims: unknown {unknown}; expected some of {', '.join(c.id for c in CLAIMS)}")
    claims = [c for c in CLAIMS if c.id in wanted]
    out = Path(opts.get("out") or f"outputs/replicate/{budget}")
    max_pairs = int(opts.get("max_pairs") or MAX_PAIRS[budget])
    photo = Path(opts["photo"]) if opts.get("photo") else default_photo()
    if photo is not None and not photo.is_file():
        raise ValueError(f"photo={photo} does not exist")
    started = time.perf_counter()
    names = list(dict.fromkeys(j for c in claims for j in c.jobs))
    results = {}
    for name in names:  # train everything first: a failing job never stops the others
        results[name] = run_job(JOBS[name], budget, out)
    for i, name in enumerate(names):
        r = results[name]
        if r["status"] != "ok":
            continue
        try:
            r["eval"] = evaluate_job(JOBS[name], r["dir"], max_pairs, baselines=name == "dcgan" or i == 0)
            r["baselines"] = r["eval"].get("baselines", {})
            r["train"] = json.loads((r["dir"] / "metrics.json").read_text())
            r["extra"] = job_measures(JOBS[name], r["dir"], max_pairs, photo)
        except Exception as err:  # a broken evaluation is that job's failure, not the run's
            r.update(status="failed", error=f"evaluation: {type(err).__name__}: {err}")
    rows = []
    for claim in claims:
        failed = [f"{j}: {results[j].get('error')}" for j in claim.jobs if results[j]["status"] != "ok"]
        if claim.id == "10" and photo is None:
            failed.append("no photograph (pass photo=PATH, or install matplotlib for its sample portrait)")
        if failed:
            measured, verdict, why = "", "not run", "; ".join(failed)
        else:
            measured, verdict, why = claim.decide(results)
        figure = claim_figure(claim, results, out)
        rows.append({"claim": claim.id, "where": claim.where, "report": claim.report, "setting": claim.setting,
                     "test": claim.test, "measured": measured, "verdict": verdict, "why": why, "jobs": list(claim.jobs),
                     "figure": figure.name if figure else None})
    minutes = (time.perf_counter() - started) / 60
    text = markdown(rows, budget, out, results, minutes)
    atomic_write_text(out / "replication.md", text)
    atomic_write_text(out / "replication.json", json.dumps({"budget": budget, "minutes_this_call": minutes, "claims": rows,
                                                            "jobs": {n: {k: v for k, v in r.items() if k != "dir"} | {"dir": str(r["dir"])}
                                                                     for n, r in results.items()}}, indent=2, default=str))
    print(text)
    return 0


if __name__ == "__main__":
    from expr_gan.cli import run

    sys.exit(run(main))
