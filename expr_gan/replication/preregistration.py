"""The revision log of the pre-registered tests: every change made to a claim's test or to an end-state
rule after a run had been seen, with the verdict the old rule gives on the same run's measurements.

The tests themselves live where they are read: each claim's test in claims.py (its text in `Claim.test`,
its thresholds in its decide function), the end-state rules in states.RULES. A change to either after
a run is one more `Revision` here: what changed (commit, old, new, why), and how to read a run under
the old rule (the states re-classified with the old parameters, or the claim's old decide function).
`replicate` prints the log with both verdicts for every claim the revision can change, so a reader sees
what each revision did to the finding.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Callable

from expr_gan.replication import claims as C
from expr_gan.replication.readings import decide_claim
from expr_gan.replication.states import job_state

NOT_RECORDED = "not recorded"  # a job's results lack a measure the old rule reads


@dataclass(frozen=True)
class Revision:
    """One change to a pre-registered test."""

    id: str
    commit: str
    date: str
    what: str
    old: str
    new: str
    why: str
    claims: tuple[str, ...]  # the claims whose verdict it can change
    old_states: dict = field(default_factory=dict)  # states.RULES changes that restore the old rule
    old_decide: dict = field(default_factory=dict)  # claim id -> its decide function under the old rule


def _identity_by_copy_ratio(r: dict) -> tuple[str, str, str]:
    return C._identity(r, copies=lambda r: r["dcgan"]["eval"]["copy_ratio"] <= 0.3)


def _photo_by_mean_difference(r: dict) -> tuple[str, str, str]:
    return C._photo(r, comes_back=lambda photo: photo["moved_from_input"] <= 0.05)


def _iterations_at_fixed_margin(r: dict) -> tuple[str, str, str]:
    return C._iterations(r, margin=lambda n, one: 0.05)


STATE_CLAIMS = tuple(c.id for c in C.CLAIMS)  # an end state gates every claim

REVISIONS = (
    Revision("R1", "469b275", "2026-11-29", "claim 6: \"copies the input\"", "copy_ratio <= 0.3",
             "the job's end state is `copy`", "the end states were introduced; a copy is judged by one rule "
             "everywhere (the measured copy_ratio, 0.40, fails the old one)", ("6",),
             old_decide={"6": _identity_by_copy_ratio}),
    Revision("R2", "cf7a109", "2026-11-30", "end state `copy`: the source's layout", "structure <= 0.2",
             "structure <= 0.25", "a copy with texture artefacts read `sharp face` in the first budget=cpu "
             "run's grids; an eye-aligned photo of the person reads ~0.24", STATE_CLAIMS,
             old_states={"copy_judge": False, "copy_structure": 0.2}),
    Revision("R3", "cf7a109", "2026-11-30", "end state `shapeless`", "structure >= 0.8, tested before faded",
             "structure >= 0.6, tested after faded", "a plaid texture and a hairless brown oval read "
             "`blurry face` in the first budget=cpu run's grids", STATE_CLAIMS,
             old_states={"shapeless_structure": 0.8, "faded_first": False}),
    Revision("R4", "cf7a109", "2026-11-30", "end state `noise`: blotches of colour", "no blotch rule",
             "contrast >= 1.2 with structure >= 1.0 is noise", "blocks of random colour read `dark` in the first "
             "budget=cpu run's grids (too few edges for the Laplacian)", STATE_CLAIMS,
             old_states={"blotch": False}),
    Revision("R5", "cf7a109", "2026-11-30", "claim 10: \"the input comes back\"", "mean |output - input| <= 0.05",
             "the photo's layout by the copy rule (structure <= 0.25); <= 0.05 became its own part",
             "a softened copy of the photograph (0.066) missed the old rule though its strip shows the "
             "photograph again", ("10",), old_decide={"10": _photo_by_mean_difference}),
    Revision("R6", "dba3fbc", "2026-11-30", "claim 8: a c2st_acc rise at 16 iterations", "+0.05",
             "+max(0.05, twice the standard error of the difference of the two means)", "c2st_acc became the "
             "mean of several classifiers with its spread; a rise within the classifiers' noise is not a "
             "degradation", ("8",), old_decide={"8": _iterations_at_fixed_margin}),
    Revision("R7", "6abdc30", "2026-12-06", "end state `copy`: the identity function",
             "pixels only: structure <= 0.25 with target_spread <= 0.25, or copy_ratio <= 0.3",
             "structure <= 0.45 (as close as another capture of the person), and the judge reads the target no more "
             "often than chance (expr_acc <= 1/6) and the source's expression in >= 50 %",
             "labels disagreed with the eye (issue 30): the cGAN without its adversarial term, a blurred eyeless head "
             "that followed the target in 42 % of outputs, read `copy`; the design card's smudged copies (identical "
             "columns, the source's expression in 75 %, structure 0.36, target_spread 0.32) read `sharp face`",
             STATE_CLAIMS, old_states={"copy_judge": False}),
    Revision("R8", "0689f27", "2026-12-07", "end state `noise`: grain",
             "the Laplacian's detail >= 2.0x the photos' (at full or half resolution) or blotches",
             "also pixel noise (Immerkaer's estimate) >= 12/sqrt(3) = 6.9 grey levels: noise of sigma 12 per channel, "
             "the Laplacian rule's own boundary, as seen in the grey",
             "a label disagreed with the eye (issue 30): the literal cGAN, a featureless grainy blob, read `blurry face` "
             "(sharpness 0.29, fine detail 0.66). Known case: photos blurred 2x under noise of sigma 16 read `sharp face` "
             "(blur took the face's detail; the noise's edges count as detail). The boundary was fixed from the known "
             "cases and committed before any job was measured with it", STATE_CLAIMS, old_states={"grain": False}),
)


def reclassified(results: dict, rules: dict) -> dict | None:
    """A copy of `results` with every finished job's end state re-read under `rules`; None when a job's
    measures are not all recorded (results from before they were stored)."""
    out = copy.deepcopy(results)
    for job in out.values():
        extra = job.get("extra") if job.get("status", "ok") == "ok" else None
        if not extra or "state" not in extra:
            continue
        try:
            extra["state"] = job_state(extra, job["eval"], rules)
        except KeyError:
            return None
    return out


def revision_rows(claims: list, results: dict) -> list[dict]:
    """Per revision and per claim it can change (among `claims`, all of whose jobs finished): the
    verdict now and under the old rule, on the same measurements, as the table shows it (on the seeds,
    with every reading whose verdict differs: a revision may change a reading's verdict only)."""
    done = {c.id: c for c in claims if all(results.get(j, {}).get("status") == "ok" for j in c.jobs)}
    rows = []
    for rev in REVISIONS:
        old_results = reclassified(results, rev.old_states) if rev.old_states else results
        for claim_id in (i for i in rev.claims if i in done):
            claim = done[claim_id]
            now = decide_claim(claim, results)["verdict_shown"]
            if old_results is None:
                old = NOT_RECORDED
            else:
                old_claim = replace(claim, decide=rev.old_decide[claim_id]) if claim_id in rev.old_decide else claim
                old = decide_claim(old_claim, old_results, rev.old_states or None)["verdict_shown"]
            if rev.old_decide or old != now:  # a state revision: only the claims it changes
                rows.append({"revision": rev.id, "commit": rev.commit, "date": rev.date, "what": rev.what,
                             "old": rev.old, "new": rev.new, "why": rev.why, "claim": claim_id,
                             "verdict_now": now, "verdict_old_rule": old})
        if rev.old_states and not any(r["revision"] == rev.id for r in rows):
            rows.append({"revision": rev.id, "commit": rev.commit, "date": rev.date, "what": rev.what, "old": rev.old,
                         "new": rev.new, "why": rev.why, "claim": "none",
                         "verdict_now": "", "verdict_old_rule": "no verdict changes" if old_results else NOT_RECORDED})
    return rows
