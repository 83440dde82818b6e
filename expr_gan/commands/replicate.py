"""`python -m expr_gan.replicate [budget=cpu|paper|tiny]`: the report, run claim by claim.

Runs every job the claims need (expr_gan/replication/jobs.py: the claims' own jobs, their controls
and the sensitivity rows) as `python -m expr_gan.train`, each in its own directory under `out`
(default outputs/replicate/<budget>), evaluates it on held-out people, measures its end state and
the claims' measures, and writes replication.md, replication.json and claim_<id>.png there.
Resumable: run it again and finished jobs are skipped, an interrupted one continues from its
last.ckpt; a job that fails is recorded (its error in the table, its traceback in the job's
error.txt), the others go on, and the command exits with 1.
Options (conf/replicate.yaml): claims=6 or claims=[1,6] (a subset), max_pairs=N (held-out pairs per
evaluation), photo=PATH (claim 10's photograph; default: matplotlib's Grace Hopper portrait when
matplotlib is installed), parallel=N (train N jobs at a time, each with its share of the CPU
threads; default 1), out=DIR (the run directory; default outputs/replicate/<budget>).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from expr_gan.errors import UsageError

MEASURES_VERSION = 4  # 2: the end state (replication/states.py) of every job; 3: its rules revised, the photo's layout; 4: pixel noise (R8)
MAX_PAIRS = {"tiny": 48, "cpu": 600, "paper": 900}


def _resume_point(job, budget: str, out: Path, run: Path) -> list[str]:
    """Where a job starts: its own last.ckpt when interrupted; for a `continues` job the end of the job
    it continues, with a batch budget that many batches further."""
    if not job.continues:
        return ["ckpt_path=last"] if (run / "checkpoints" / "last.ckpt").is_file() else []
    base = out / "jobs" / job.continues
    batches = json.loads((base / "run_info.json").read_text())["batches"]
    own = run / "checkpoints" / "last.ckpt"
    start = "ckpt_path=last" if own.is_file() else f"ckpt_path={base / 'checkpoints' / 'last.ckpt'}"
    return [start, f"max_batches={batches + job.extra[budget]}", "trainer.max_epochs=100000"]


def run_job(job, budget: str, out: Path, threads: int | None = None) -> dict:
    """Train one job (or finish it: metrics.json means done, last.ckpt means resume); returns its status.
    `threads`: OMP_NUM_THREADS for the training process (None: the machine's default)."""
    run = out / "jobs" / job.name
    if (run / "metrics.json").is_file():
        return {"status": "ok", "dir": run}
    if job.continues and not (out / "jobs" / job.continues / "metrics.json").is_file():
        return {"status": "failed", "dir": run, "error": f"the job it continues ({job.continues}) has not finished"}
    run.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "expr_gan.train", *job.train_overrides(budget), f"hydra.run.dir={run}",
           *_resume_point(job, budget, out, run)]
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {})}
    started = time.perf_counter()
    with open(run / "stdout.log", "a") as log:
        print(f"[replicate] {job.name}: {' '.join(cmd[3:])}", flush=True)
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    seconds = round(time.perf_counter() - started, 1)
    if code == 0 and (run / "metrics.json").is_file():
        print(f"[replicate] {job.name}: done in {seconds} s", flush=True)
        (run / "error.txt").unlink(missing_ok=True)  # an earlier attempt's error is stale now
        return {"status": "ok", "dir": run}
    error = (run / "error.txt").read_text().splitlines()[0] if (run / "error.txt").is_file() else f"exit code {code}"
    print(f"[replicate] {job.name}: FAILED ({error})", flush=True)
    return {"status": "failed", "dir": run, "error": error}


def run_jobs(jobs: list, budget: str, out: Path, parallel: int = 1) -> dict:
    """Train `jobs` (a failing one never stops the others), `parallel` at a time, each `continues` job
    after the job it continues; returns {name: status}."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    threads = max(1, (os.cpu_count() or 1) // parallel) if parallel > 1 else None
    results, pending, running = {}, list(jobs), {}
    listed = {job.name for job in jobs}  # a `continues` job whose base is not listed finds it on disk (run_job)
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending or running:
            for job in list(pending):
                base = job.continues
                if base and base in results and results[base]["status"] != "ok":
                    results[job.name] = {"status": "failed", "dir": out / "jobs" / job.name,
                                         "error": f"the job it continues ({base}) failed"}
                    pending.remove(job)
                elif (not base or base in results or base not in listed) and len(running) < parallel:
                    running[pool.submit(run_job, job, budget, out, threads)] = job
                    pending.remove(job)
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future).name] = future.result()
    return {job.name: results[job.name] for job in jobs}


def _cached(path: Path, compute, version: int | str | None = None) -> dict:
    """The JSON in `path`, or `compute()` written there (atomically); with `version`, a file written by
    another version of the measures is computed again."""
    from expr_gan.io import atomic_write_text

    if path.is_file():
        value = json.loads(path.read_text())
        if version is None or value.get("version") == version:
            return value
    value = compute()
    if version is not None:
        value["version"] = version
    atomic_write_text(path, json.dumps(value, indent=2))
    return value


def evaluate_job(job, run: Path, max_pairs: int, baselines: bool) -> dict:
    """expr_gan.evaluate on the job's last.ckpt (cached in evaluate.json, recomputed when a metric's
    version in the registry changes)."""
    from expr_gan.commands.evaluate import evaluate_checkpoint
    from expr_gan.metrics.registry import version as metrics_version

    names = ("copy", "oracle", "aligned") if baselines else ()
    return _cached(run / "evaluate.json", lambda: evaluate_checkpoint(
        str(run / "checkpoints" / "last.ckpt"), list(job.eval_overrides), "test", max_pairs, baselines=names),
        metrics_version())


def job_measures(job, run: Path, max_pairs: int, photo: Path | None) -> dict:
    """The measures.py values a job's claims need (cached in measures.json)."""
    from expr_gan.replication import measures

    ckpt = run / "checkpoints" / "last.ckpt"

    def compute() -> dict:
        from omegaconf import OmegaConf

        info = json.loads((run / "run_info.json").read_text())
        cfg = OmegaConf.load(run / "config.yaml")
        module, dm = measures.load_job(ckpt, job.eval_overrides)  # once: every measure reads them
        per_epoch = max(1, info["batches"] // max(info["epochs"], 1))  # the regressors train whole epochs
        extra = {"batches_per_epoch": per_epoch, **measures.output_measures(module, dm, max_pairs)}
        if job.name.startswith(("sgd_", "two_step")):
            extra.update(measures.two_step_measures(module, dm, max_pairs))
            stage1 = int(cfg.model.stage1_epochs)
            curve = measures.scalar_history(run, "train/G/loss_rec")
            extra["stage2"] = measures.convergence([(s - stage1 * per_epoch, v) for s, v in curve
                                                    if s >= stage1 * per_epoch], per_epoch)
            extra["stage2"]["epochs"] = int(cfg.trainer.max_epochs) - stage1
            extra["stage1"] = measures.convergence(measures.scalar_history(run, "train/G/loss_stage1"), per_epoch)
        if job.name.startswith("dcgan") and "iters" not in job.name and photo is not None:  # the cGAN, its readings
            result = measures.photo_measures(module, dm, photo)
            _photo_strip(result, run / "photo.png")
            extra["photo"] = {k: v for k, v in result.items() if k not in ("outputs", "input")}
        return extra

    return _cached(run / "measures.json", compute, MEASURES_VERSION)


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


def job_names(claims) -> list[str]:
    """Every job the claims need, in order: their own, their controls and sensitivity jobs, their seed
    jobs, and the jobs that a `continues` job starts from."""
    from expr_gan.replication.jobs import JOBS, SEEDS, seed_name

    names = list(dict.fromkeys(j for c in claims for j in (*c.jobs, *c.extra_jobs)))
    seeded = dict.fromkeys(j for c in claims if c.seeded for j in c.jobs)
    names += [seed_name(j, s) for s in SEEDS for j in seeded]
    bases = [JOBS[n].continues for n in names if JOBS[n].continues and JOBS[n].continues not in names]
    return list(dict.fromkeys([*bases, *names]))


def finish_job(name: str, r: dict, max_pairs: int, photo: Path | None, baselines: bool) -> None:
    """Evaluate a trained job and take its measures (into `r`). A broken evaluation fails that job only:
    the others are still evaluated, its traceback goes to the job's error.txt, and main exits non-zero."""
    import traceback

    from expr_gan.io import atomic_write_text
    from expr_gan.replication.jobs import JOBS
    from expr_gan.replication.states import job_state

    if r["status"] != "ok":
        return
    try:
        r["eval"] = evaluate_job(JOBS[name], r["dir"], max_pairs, baselines=baselines)
        r["baselines"] = r["eval"].get("baselines", {})
        r["train"] = json.loads((r["dir"] / "metrics.json").read_text())
        r["extra"] = job_measures(JOBS[name], r["dir"], max_pairs, photo)
        r["extra"]["state"] = job_state(r["extra"], r["eval"])  # pixels and the judge's readings
    except Exception as err:  # noqa: BLE001 - recorded with its traceback; the run's exit code says it failed
        summary = " ".join(f"evaluation: {type(err).__name__}: {err}".split())
        atomic_write_text(r["dir"] / "error.txt", f"{summary}\n\n{traceback.format_exc()}")
        r.update(status="failed", error=summary)
        print(f"[replicate] {name}: FAILED ({summary}; traceback in {r['dir'] / 'error.txt'})", flush=True)
    else:
        (r["dir"] / "error.txt").unlink(missing_ok=True)  # a retried job that now succeeds


def extra_rows(claims, results: dict) -> list[dict]:
    """The controls and sensitivity jobs beside their claims: state, measures, and for a control its test."""
    from expr_gan.replication.claims import CONTROLS
    from expr_gan.replication.jobs import JOBS

    rows = []
    for claim in claims:
        for name in claim.extra_jobs:
            job, r = JOBS[name], results[name]
            row = {"claim": claim.id, "job": name, "role": job.role, "about": job.about}
            if r["status"] != "ok":
                rows.append({**row, "state": "", "measured": "", "holds": f"not run: {r.get('error')}"})
                continue
            x, e = r["extra"], r["eval"]
            measured = (f"sharpness {x['sharpness']:.2f}, pixel noise {x['pixel_noise']:.1f}, structure "
                        f"{x['structure']:.2f}, copy_ratio "
                        f"{x['copy_ratio']:.2f}, cond_sensitivity {e['cond_sensitivity']:.4f}")
            dead = {k: v for k, v in x.get("dead_units", {}).items() if k.startswith("fc.")}
            if dead:  # the fully connected bottleneck's ReLU units that never fire on held-out inputs
                measured += "; dead units " + ", ".join(f"{k} {v:.0%}" for k, v in dead.items())
            if "train/cls_acc" in r["train"]:
                t = r["train"]
                measured += (f"; cls_acc train {t['train/cls_acc']:.1%} / test {t['test/cls_acc']:.1%} / held-out "
                             f"{t['val/cls_acc']:.1%}")
            holds = ""
            if name in CONTROLS:
                what, test = CONTROLS[name]
                shown, ok = test(results)
                holds = f"{'yes' if ok else 'NO'}: {what} ({shown})"
            rows.append({**row, "state": x["state"], "measured": measured, "holds": holds})
    return rows


def main(argv: list[str]) -> int:
    """Run the jobs, measure, decide every claim, write the table and the figures."""
    from expr_gan.commands.command import as_list, command_config, save_command_config
    from expr_gan.io import atomic_write_text
    from expr_gan.replication.claims import CLAIMS, NOT_RUN
    from expr_gan.replication.readings import decide_claim
    from expr_gan.replication.jobs import BUDGETS, JOBS, base_name
    from expr_gan.replication.report import claim_figure, markdown

    opts = command_config("replicate", argv, __doc__)
    if opts is None:
        return 0
    budget = opts.budget
    if budget not in BUDGETS:
        raise UsageError(f"budget={budget!r}: expected one of {', '.join(BUDGETS)}")
    wanted = [str(c) for c in as_list(opts.claims)] or [c.id for c in CLAIMS]
    unknown = [c for c in wanted if c not in {c.id for c in CLAIMS}]
    if unknown:
        raise UsageError(f"claims: unknown {unknown}; expected some of {', '.join(c.id for c in CLAIMS)}")
    parallel = opts.parallel
    if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
        raise UsageError(f"parallel={parallel!r}: expected a positive whole number of jobs at a time")
    claims = [c for c in CLAIMS if c.id in wanted]
    out = Path(opts.out)
    max_pairs = int(opts.max_pairs or MAX_PAIRS[budget])
    photo = Path(opts.photo) if opts.photo else default_photo()
    if photo is not None and not photo.is_file():
        raise UsageError(f"photo={photo} does not exist")
    save_command_config(out, "replicate", opts)
    started = time.perf_counter()
    names = job_names(claims)
    results = run_jobs([JOBS[n] for n in names], budget, out, parallel)  # train everything first
    for i, name in enumerate(names):
        finish_job(name, results[name], max_pairs, photo, baselines=base_name(name) == "dcgan" or i == 0)
    rows = []
    for claim in claims:
        failed = [f"{j}: {results[j].get('error')}" for j in claim.jobs if results[j]["status"] != "ok"]
        if claim.id == "10" and photo is None:
            failed.append("no photograph (pass photo=PATH, or install matplotlib for its sample portrait)")
        if failed:
            decided = {"measured": "", "verdict": NOT_RUN, "why": "; ".join(failed), "verdict_shown": NOT_RUN,
                       "readings": [], "seeds": []}
        else:
            decided = decide_claim(claim, results)  # on its seeds, and under each other reading
        states = {j: results[j]["extra"]["state"] for j in claim.jobs if results[j]["status"] == "ok"}
        figure = claim_figure(claim, results, out)
        rows.append({"claim": claim.id, "where": claim.where, "report": claim.report, "setting": claim.setting,
                     "test": claim.test, "states": states, **decided, "extrapolation": claim.extrapolation,
                     "jobs": list(claim.jobs), "figure": figure.name if figure else None})
    extras = extra_rows(claims, results)
    from expr_gan.replication.preregistration import revision_rows

    revisions = revision_rows(claims, results)  # each revised test's verdict under its old rule, on this run
    minutes = (time.perf_counter() - started) / 60
    text = markdown(rows, extras, budget, out, results, minutes, revisions)
    atomic_write_text(out / "replication.md", text)
    atomic_write_text(out / "replication.json", json.dumps(
        {"budget": budget, "minutes_this_call": minutes, "claims": rows, "controls_and_sensitivity": extras,
         "revisions": revisions,
         "jobs": {n: {k: v for k, v in r.items() if k != "dir"} | {"dir": str(r["dir"])} for n, r in results.items()}},
        indent=2, default=str))
    print(text)
    failed = [n for n, r in results.items() if r["status"] != "ok"]
    if failed:  # the tables are written; the exit code tells a script (or CI) that something broke
        print(f"[replicate] {len(failed)} job(s) failed: {', '.join(failed)} (error.txt in each job's directory)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
