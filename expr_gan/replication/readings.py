"""A claim's verdict under every reading of the report and on every training seed.

Readings: where the report is silent, each `paper_*` experiment takes one reading; a sensitivity job
takes another (`Job.reading`: claim job -> the job that stands in for it). A claim is judged again with
the stand-ins in place of its jobs when the reading replaces all of them, or when the job is listed
beside the claim (`Claim.extra_jobs`). A claim whose verdict changes across readings says so: the
verdict of the reading taken, then each other reading's.

Seeds: a `seeded` claim is judged on each training seed (its jobs' seed jobs standing in for them,
jobs.SEEDED) and on the seeds' mean (every number averaged across seeds, the end states classified
again from the mean measures). Its verdict is the mean's when every seed gives it too; otherwise
"differs across seeds", with each seed's verdict shown: a verdict that one seed overturns is not one.
"""
from __future__ import annotations

import math

from expr_gan.replication import claims as C
from expr_gan.replication.jobs import JOBS, SEEDS, seed_name
from expr_gan.replication.states import job_state

DIFFERS = C.DIFFERS


def finished(results: dict, names) -> bool:
    """Whether every job in `names` trained and was measured."""
    return all(results.get(n, {}).get("status") == "ok" and "extra" in results[n] for n in names)


def substituted(results: dict, stand_ins: dict) -> dict:
    """`results` with each job of `stand_ins` replaced by its stand-in's results. A stand-in without
    baselines of its own takes the replaced job's: copy, oracle and aligned are properties of the data
    (a seed job has its own: its seed draws another split)."""
    out = dict(results)
    for job, stand_in in stand_ins.items():
        baselines = results[stand_in].get("baselines") or results.get(job, {}).get("baselines", {})
        out[job] = {**results[stand_in], "baselines": baselines}
    return out


def readings_of(claim) -> list:
    """The sensitivity jobs that give `claim` another reading: those listed beside it whose stand-ins
    touch its jobs, and any whose stand-ins replace all of its jobs."""
    out = []
    for job in JOBS.values():
        touches = set(job.reading) & set(claim.jobs)
        if touches and (job.name in claim.extra_jobs or set(claim.jobs) <= set(job.reading)):
            out.append(job)
    return out


def reading_verdicts(claim, results: dict) -> list[dict]:
    """Per other reading whose jobs finished: the claim's (measured, verdict, why) with its stand-ins."""
    rows = []
    for job in readings_of(claim):
        stand_ins = {k: v for k, v in job.reading.items() if k in claim.jobs}
        if not finished(results, [*claim.jobs, *stand_ins.values()]):
            continue
        measured, verdict, why = C.judge(claim, substituted(results, stand_ins))
        rows.append({"reading": job.name, "about": job.about, "measured": measured, "verdict": verdict, "why": why})
    return rows


def _mean(values: list):
    """The mean of equally shaped JSON values: numbers averaged (NaN where one is missing), lists
    element by element, dicts key by key; anything else (a name, a state) is the first's."""
    first = values[0]
    if isinstance(first, bool) or not isinstance(first, (int, float, list, dict)):
        return first
    if isinstance(first, (int, float)):
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return sum(numbers) / len(numbers) if len(numbers) == len(values) else math.nan
    if isinstance(first, list):
        if any(not isinstance(v, list) or len(v) != len(first) for v in values):
            return first
        return [_mean([v[i] for v in values]) for i in range(len(first))]
    return {k: _mean([v[k] for v in values if isinstance(v, dict) and k in v]) for k in first}


def mean_results(per_seed: list[dict], jobs, rules: dict | None = None) -> dict:
    """The claim's `jobs` averaged over the seeds' results, each end state classified again from the
    mean measures (the mean of three copies is a copy; of a copy and two noise images, what it reads);
    `rules`: the state rules' changes (an old rule of the revision log)."""
    out = dict(per_seed[0])
    for job in jobs:
        mean = _mean([r[job] for r in per_seed])
        mean["extra"]["state"] = job_state(mean["extra"], mean["eval"], rules)
        out[job] = mean
    return out


def seed_verdicts(claim, results: dict, rules: dict | None = None) -> dict | None:
    """For a seeded claim whose seed jobs all finished: each seed's (seed, states, measured, verdict,
    why), the mean's, and the verdict from both; None when the claim has no seed jobs here."""
    swaps = {s: {j: seed_name(j, s) for j in claim.jobs if seed_name(j, s) in JOBS} for s in SEEDS}
    if not claim.seeded or not any(swaps.values()):
        return None
    seeds = [0, *[s for s in SEEDS if finished(results, swaps[s].values())]]
    per_seed = [results if s == 0 else substituted(results, swaps[s]) for s in seeds]
    rows = []
    for seed, r in zip(seeds, per_seed):
        measured, verdict, why = C.judge(claim, r)
        rows.append({"seed": seed, "states": {j: C.state(r, j) for j in claim.jobs}, "measured": measured,
                     "verdict": verdict, "why": why})
    mean = mean_results(per_seed, claim.jobs, rules) if len(per_seed) > 1 else results
    measured, verdict, why = C.judge(claim, mean)
    agree = all(row["verdict"] == verdict for row in rows)
    return {"seeds": rows, "mean": {"measured": measured, "verdict": verdict, "why": why,
                                    "states": {j: C.state(mean, j) for j in claim.jobs}},
            "verdict": verdict if agree else DIFFERS,
            "why": (f"the mean of seeds {', '.join(map(str, seeds))}: {why}" if agree else
                    f"the mean of seeds {', '.join(map(str, seeds))}: {verdict}; " +
                    ", ".join(f"seed {row['seed']}: {row['verdict']}" for row in rows))}


def decide_claim(claim, results: dict, rules: dict | None = None) -> dict:
    """A claim's row: measured, verdict and why (on its seeds where it has them), each other reading's
    verdict, and the verdict shown ("reproduced under the reading taken; not at end state under ...").
    `rules`: the state rules `results` were classified with, when not the current ones (the seeds' mean
    is classified again)."""
    seeds = seed_verdicts(claim, results, rules)
    if seeds is None:
        measured, verdict, why = C.judge(claim, results)
    else:
        measured, verdict, why = seeds["mean"]["measured"], seeds["verdict"], seeds["why"]
        if len(seeds["seeds"]) > 1:
            measured = f"mean of {len(seeds['seeds'])} seeds: {measured}"
    readings = reading_verdicts(claim, results)
    others = {}
    for row in readings:
        if row["verdict"] != verdict:
            others.setdefault(row["verdict"], []).append(row["reading"])
    shown = verdict if not others else "; ".join(
        [f"{verdict} under the reading taken", *[f"{v} under {', '.join(names)}" for v, names in others.items()]])
    return {"measured": measured, "verdict": verdict, "why": why, "verdict_shown": shown,
            "readings": readings, "seeds": seeds["seeds"] if seeds else []}
