"""The replication: its decision rules on inputs whose answer is known, and the whole run at tiny scale."""
import json
import os

import pytest
import torch

from expr_gan.replication import claims as C
from expr_gan.replication import states as S
from expr_gan.replication.measures import convergence, pose_bias


def test_learning_rule_on_known_images():
    gen = torch.Generator().manual_seed(0)
    targets = torch.rand(64, 3, 16, 16, generator=gen) * 0.2 + 0.4  # face-like: near a mean grey
    mean_face_l1 = float((targets - targets.mean(0)).abs().mean())
    noise = torch.rand(64, 3, 16, 16, generator=gen)
    assert not C.learns(float((noise - targets).abs().mean()), mean_face_l1)
    good = targets + 0.01 * torch.randn(64, 3, 16, 16, generator=gen)
    assert C.learns(float((good - targets).abs().mean()), mean_face_l1)


def test_pose_bias_tells_the_sources_pose_from_the_targets():
    targets, posed = torch.zeros(4, 3, 8, 8), torch.ones(4, 3, 8, 8)
    assert pose_bias(posed.clone(), targets, posed).all()  # an output in the source's pose
    assert not pose_bias(targets.clone(), targets, posed).any()  # an output in the target's pose


def test_convergence_finds_where_a_curve_settles():
    curve = [(i, 100.0 * 0.5 ** i + 10.0) for i in range(40)]
    result = convergence(curve, batches_per_epoch=20)
    assert result["final"] == pytest.approx(10.0, abs=0.01)
    # within 10% of 10 from step 7 on (100 * 0.5**7 = 0.78 < 1 < 1.56): 8 batches of a 20-batch epoch
    assert result["settled_at_epochs"] == pytest.approx(8 / 20)
    flat = convergence([(i, 5.0) for i in range(10)], batches_per_epoch=10)
    assert flat["settled_at_epochs"] == pytest.approx(0.1)


def test_verdicts_need_the_claims_substance():
    assert C._verdict([True, True]) == C.REPRODUCED
    assert C._verdict([True, False]) == C.PARTLY
    assert C._verdict([False, True], core=1) == C.NOT_REPRODUCED
    assert C._verdict([False, False]) == C.NOT_REPRODUCED


def _job(state="sharp face", **values):
    """A finished job's results with the given end state and measures (evaluation and extra merged)."""
    base = {"cond_sensitivity": 0.0, "copy_ratio": 0.0, "source_expr_acc": 1.0, "id_acc": 1.0, "sharpness": 1.0,
            "expr_acc": 0.0, "c2st_acc": 1.0, "l1": 0.07, "l1_aligned": 0.04, "structure": 0.0}
    merged = {**base, **values, "state": state}
    return {"eval": merged, "extra": merged, "train": values.get("train", {}),
            "baselines": {"oracle": {"cond_sensitivity": 0.07}}}


def _claim(claim_id):
    return next(c for c in C.CLAIMS if c.id == claim_id)


def test_identity_claim_on_a_copy_on_real_edits_and_on_noise():
    six = _claim("6")
    assert C.judge(six, {"dcgan": _job("copy")})[1] == C.REPRODUCED
    edits = _job("sharp face", cond_sensitivity=0.05, copy_ratio=0.9, source_expr_acc=0.0, expr_acc=0.95)
    assert C.judge(six, {"dcgan": edits})[1] == C.NOT_REPRODUCED
    blurry_copy = _job("copy", sharpness=0.3)
    assert C.judge(six, {"dcgan": blurry_copy})[1] == C.PARTLY  # a copy, but not sharp
    noise = _job("noise", sharpness=5.4, copy_ratio=4.4, id_acc=0.03, source_expr_acc=0.16)
    measured, verdict, why = C.judge(six, {"dcgan": noise})
    assert verdict == C.NOT_AT_END and why == "dcgan: noise" and "sharpness 5.40" in measured


def test_no_rescue_is_judged_only_once_the_cgan_copies():
    seven = _claim("7")
    assert C.judge(seven, {"dcgan": _job("sharp face"), "dcgan_cls": _job("copy")})[1] == C.NOT_AT_END
    assert C.judge(seven, {"dcgan": _job("copy"), "dcgan_cls": _job("copy", expr_acc=0.16)})[1] == C.REPRODUCED
    rescued = _job("sharp face", expr_acc=0.8, id_acc=0.95)
    assert C.judge(seven, {"dcgan": _job("copy"), "dcgan_cls": rescued})[1] == C.NOT_REPRODUCED


def test_noise_claim_wants_noise_from_the_failing_setting_and_faces_from_each_change():
    one = _claim("1")
    learned = _job("blurry face", l1=0.05, mean_face_l1=0.1)
    results = {"sgd_minimal_unit": _job("noise", l1=0.2, mean_face_l1=0.1),
               **{j: learned for j in C.SGD_JOBS[1:]}}
    assert C.judge(one, results)[1] == C.REPRODUCED
    results["sgd_minimal_unit"] = _job("constant", l1=0.2, mean_face_l1=0.1)
    assert C.judge(one, results)[1] == C.PARTLY  # fails to learn, but not as noise
    results["sgd_minimal_unit"] = learned
    assert C.judge(one, results)[1] == C.NOT_REPRODUCED


def _two_step(settled, final, epochs=2):
    return _job("blurry face", stage2={"settled_at_epochs": settled, "final": final, "epochs": epochs})


def test_convergence_claim_can_fail_when_stage_two_settles_late():
    two = _claim("2")
    early = {"two_step_mse": _two_step(0.4, 900.0), "two_step_smoothl1_base": _two_step(0.3, 22.0)}
    assert C.judge(two, early)[1] == C.REPRODUCED
    late = {"two_step_mse": _two_step(1.6, 900.0), "two_step_smoothl1_base": _two_step(1.2, 22.0)}
    assert C.judge(two, late)[1] == C.NOT_REPRODUCED
    dark = {**early, "two_step_mse": {**_two_step(0.4, 900.0), "extra": {**_two_step(0.4, 900.0)["extra"], "state": "dark"}}}
    assert C.judge(two, dark)[1] == C.NOT_AT_END


def test_iterations_claim_reads_movement_toward_the_target_and_degradation():
    one = {**_job("copy", l1_aligned=0.04, copy_ratio=0.2, sharpness=0.9, expr_acc=0.16, c2st_acc=0.9, id_acc=1.0)}
    same = one
    toward = _job("sharp face", l1_aligned=0.03, copy_ratio=0.5, sharpness=0.9, expr_acc=0.4, c2st_acc=0.9, id_acc=1.0)
    grotesque = _job("sharp face", l1_aligned=0.03, copy_ratio=0.6, sharpness=0.9, expr_acc=0.4,  # the person lost
                     c2st_acc=0.99, id_acc=0.5)
    results = {"dcgan_iters1": one, "dcgan_iters2": same, "dcgan_iters8": toward, "dcgan_iters16": grotesque}
    assert C.judge(_claim("8"), results)[1] == C.REPRODUCED
    assert not C.moved_toward_target(same["eval"], one["eval"])
    # noise that "moves" by losing sharpness is not movement toward the target, and a face is needed first
    results["dcgan_iters1"] = _job("noise", sharpness=4.2, copy_ratio=4.5)
    assert C.judge(_claim("8"), results)[1] == C.NOT_AT_END


def test_standardised_claim_counts_a_degenerate_run_as_worse():
    nine = _claim("9")
    assert C.judge(nine, {"dcgan": _job("copy"), "dcgan_standard_grey": _job("noise", l1_aligned=0.041)})[1] == C.REPRODUCED
    assert C.judge(nine, {"dcgan": _job("copy"), "dcgan_standard_grey": _job("copy", l1_aligned=0.041)})[1] == C.NOT_REPRODUCED
    assert C.judge(nine, {"dcgan": _job("noise"), "dcgan_standard_grey": _job("copy")})[1] == C.NOT_AT_END


def test_photo_claim_requires_the_input_back():
    ten = _claim("10")

    def photo(layout, moved, spread):
        return _job("copy", photo={"layout": layout, "moved_from_input": moved, "spread_between_targets": spread,
                                   "crop": "haar"})

    assert C.judge(ten, {"dcgan": photo(1.1, 0.37, 0.0003)})[1] == C.NOT_REPRODUCED  # ignores the target only
    assert C.judge(ten, {"dcgan": photo(0.1, 0.066, 0.006)})[1] == C.PARTLY  # back, softened
    assert C.judge(ten, {"dcgan": photo(0.05, 0.03, 0.001)})[1] == C.REPRODUCED


def test_joint_claim_on_the_reports_numbers():
    five = _claim("5")
    acc = {"joint_smoothl1": (0.59, 0.48, 0.45), "joint_mse": (0.40, 0.20, 0.2), "joint_end_to_end": (0.95, 0.5, 0.4)}
    results = {j: _job("blurry face", train={"train/cls_acc": a, "test/cls_acc": b, "val/cls_acc": c}, l1=0.1)
               for j, (a, b, c) in acc.items()}
    results["joint_end_to_end"]["extra"]["state"] = "shapeless"  # "terrible images that barely resemble a face"
    assert C.judge(five, results)[1] == C.REPRODUCED
    chance = {j: _job("blurry face", train={"train/cls_acc": .17, "test/cls_acc": .16, "val/cls_acc": .16}, l1=0.1)
              for j in acc}
    assert C.judge(five, chance)[1] == C.NOT_REPRODUCED


@pytest.mark.slow
def test_tiny_replication_runs_every_claim_and_survives_a_failing_job(tmp_path, cache_dir, monkeypatch):
    from expr_gan.commands import replicate
    from expr_gan.replication import jobs

    broken = jobs.Job("dcgan_standard_grey", ("experiment=paper_dcgan", "pixels=standard", "data.size=36"), jobs.DCGAN)
    monkeypatch.setitem(jobs.JOBS, "dcgan_standard_grey", broken)
    out = tmp_path / "rep"
    assert replicate.main(["budget=tiny", f"out={out}", "parallel=2"]) == 1  # a job failed
    data = json.loads((out / "replication.json").read_text())
    rows = {r["claim"]: r for r in data["claims"]}
    assert sorted(rows, key=int) == [str(i) for i in range(1, 11)]
    assert rows["9"]["verdict"] == "not run" and "image size 36 is not supported" in rows["9"]["why"]
    assert data["jobs"]["dcgan_standard_grey"]["status"] == "failed"
    for claim, row in rows.items():
        if claim != "9":
            assert row["measured"] and row["verdict"] in set(C.VERDICTS) - {C.NOT_RUN}, row
            assert set(row["states"]) == set(next(c for c in C.CLAIMS if c.id == claim).jobs)
            assert all(state in S.STATES for state in row["states"].values())
            assert (out / row["figure"]).is_file()
            if row["verdict"] == C.NOT_AT_END:  # the row names the job and the state it ended in
                assert any(f"{job}: {state}" in row["why"] for job, state in row["states"].items())
    assert [seed["seed"] for seed in rows["6"]["seeds"]] == [0, 1, 2] and rows["7"]["seeds"] == []
    assert {x["reading"] for x in rows["6"]["readings"]} == {"dcgan__unit_weight", "dcgan__fc_bottleneck",
                                                             "dcgan__adam_2e-4", "dcgan__literal"}
    assert rows["7"]["extrapolation"] and "| 7 (extrapolation) |" in (out / "replication.md").read_text()
    extras = {x["job"]: x for x in data["controls_and_sensitivity"]}
    assert {"dcgan__no_adv", "joint_smoothl1__label", "dcgan__unit_weight"} <= set(extras)
    assert extras["dcgan__no_adv"]["holds"].startswith(("yes: a face state", "NO: a face state"))
    text = (out / "replication.md").read_text()
    assert text.count("\n| ") >= 10 + len(data["jobs"]) and "**not run**" in text
    # run again: finished jobs are skipped (their files are not rewritten), the failed one is retried
    stamp = (out / "jobs" / "dcgan" / "metrics.json").stat().st_mtime
    assert replicate.main(["budget=tiny", f"out={out}", "claims=[6,9]"]) == 1
    assert (out / "jobs" / "dcgan" / "metrics.json").stat().st_mtime == stamp
    assert "image size 36" in (out / "jobs" / "dcgan_standard_grey" / "error.txt").read_text()


@pytest.mark.slow
def test_the_reports_cgan_trains_to_a_face_state(make_cfg):
    """The report's cGAN (paper_dcgan's readings) at a small budget: faces of the input's layout, not the
    noise, the one image or the shapeless colour of a setting that does not train (measured: a blurry
    face, structure 0.27, pixel noise 4.8, after 1,080 batches of 32 at 32 px, width 8, 60 people; about 40 s.
    After 8 epochs its outputs are still a checkerboard grain over a blurred head: pixel noise 8.2, `noise`)."""
    from pathlib import Path

    from expr_gan.replication.measures import load_job, output_measures
    from expr_gan.commands.train import train

    cfg = make_cfg("experiment=paper_dcgan", "data.size=32", "model.generator.num_down=1", "net_width=8",
                   "data.num_identities=60", "trainer.max_epochs=24", "callbacks.eval_metrics=null",
                   "print_config=false", tiny=False)
    train(cfg)
    measures = output_measures(*load_job(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"), max_pairs=300)
    # the pixels decide whether it is a face at all; the judge's readings only tell a copy from a face
    assert S.classify({**measures, "expr_acc": 1.0, "source_expr_acc": 0.0}) in S.FACE_STATES, measures
    assert measures["structure"] < 0.5 and measures["fine_detail"] < 1.5, measures  # the input's layout, no noise
    assert measures["pixel_noise"] < S.NOISE_LEVEL, measures


def test_jobs_run_in_parallel_after_the_job_they_continue(monkeypatch, tmp_path):
    import threading
    import time

    from expr_gan.commands import replicate
    from expr_gan.replication.jobs import Job

    order, lock = [], threading.Lock()

    def fake_run_job(job, budget, out, threads):
        with lock:
            order.append(("start", job.name, threads))
        time.sleep(0.05)
        with lock:
            order.append(("end", job.name, threads))
        return {"status": "failed" if job.name == "broken" else "ok", "dir": out / job.name}

    monkeypatch.setattr(replicate, "run_job", fake_run_job)
    jobs = [Job("base", ()), Job("after_base", (), continues="base", extra={"tiny": 1}), Job("other", ()),
            Job("broken", ()), Job("after_broken", (), continues="broken", extra={"tiny": 1})]
    results = replicate.run_jobs(jobs, "tiny", tmp_path, parallel=2)
    assert results["after_broken"]["status"] == "failed" and "(broken) failed" in results["after_broken"]["error"]
    assert results["after_base"]["status"] == "ok"
    events = [(kind, name) for kind, name, _ in order]
    assert events.index(("end", "base")) < events.index(("start", "after_base"))
    running = max(sum(1 for k, n in events[:i + 1] if k == "start") - sum(1 for k, n in events[:i + 1] if k == "end")
                  for i in range(len(events)))
    assert running == 2  # two at a time, never more
    assert {threads for *_, threads in order} == {max(1, (os.cpu_count() or 1) // 2)}


def test_bad_options_are_clear_errors(tmp_path):
    from conftest import REPO, run_cli

    result = run_cli("expr_gan.replicate", "budget=huge", cwd=REPO)
    assert result.returncode == 2 and "budget='huge': expected one of tiny, cpu, paper" in result.stderr
    result = run_cli("expr_gan.replicate", "claims=11", f"out={tmp_path}", cwd=REPO)
    assert result.returncode == 2 and "claims: unknown ['11']" in result.stderr
    result = run_cli("expr_gan.replicate", "parallel=0", f"out={tmp_path}", cwd=REPO)
    assert result.returncode == 2 and "parallel=0: expected a positive whole number" in result.stderr
    result = run_cli("expr_gan.replicate", "budgt=cpu", cwd=REPO)  # a typo is an error naming the key
    assert result.returncode == 2 and "Could not override 'budgt'" in result.stderr


def test_a_failed_evaluation_keeps_its_traceback_and_a_retry_clears_it(tmp_path, monkeypatch):
    from expr_gan.commands import replicate

    run = tmp_path / "jobs" / "dcgan"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text("{}")

    def broken(*a, **k):
        raise KeyError("a bug in the evaluation")

    monkeypatch.setattr(replicate, "evaluate_job", broken)
    r = {"status": "ok", "dir": run}
    replicate.finish_job("dcgan", r, 8, None, baselines=False)
    assert r["status"] == "failed" and r["error"] == "evaluation: KeyError: 'a bug in the evaluation'"
    text = (run / "error.txt").read_text()
    assert text.startswith("evaluation: KeyError") and "Traceback" in text and "in broken" in text
    monkeypatch.setattr(replicate, "evaluate_job", lambda *a, **k: {"baselines": {}, "expr_acc": 0.0,
                                                                     "source_expr_acc": 1.0})
    monkeypatch.setattr(replicate, "job_measures", lambda *a, **k: _state_measures(structure=0.1))
    r = {"status": "ok", "dir": run}
    replicate.finish_job("dcgan", r, 8, None, baselines=False)
    assert r["status"] == "ok" and not (run / "error.txt").exists()  # stale after a success
    assert r["extra"]["state"] == "copy"  # the state joins the pixels and the judge's readings


def test_replicate_exits_non_zero_when_a_job_failed(tmp_path, monkeypatch, capsys):
    from expr_gan.commands import replicate

    monkeypatch.setattr(replicate, "run_jobs", lambda jobs, *a, **k: {
        j.name: {"status": "failed", "dir": tmp_path / j.name, "error": "exit code 1"} for j in jobs})
    assert replicate.main(["budget=tiny", "claims=6", f"out={tmp_path}/r"]) == 1
    assert "job(s) failed: dcgan" in capsys.readouterr().err
    assert "not run" in (tmp_path / "r" / "replication.md").read_text()  # the tables are still written


def test_claim_8_counts_a_c2st_rise_only_beyond_the_classifiers_noise():
    from expr_gan.replication.claims import c2st_margin, degraded

    one = {"state": "copy", "c2st_acc": 0.90, "c2st_std": 0.0, "c2st_runs": [0.9] * 3, "sharpness": 0.9, "id_acc": 1.0}
    rise = {**one, "c2st_acc": 0.96, "c2st_runs": [0.96] * 3}
    assert c2st_margin(rise, one) == 0.05 and degraded(rise, one)
    noisy = {**rise, "c2st_std": 0.1}  # 2 * sqrt(0.1^2 / 3) = 0.115 > 0.06
    assert c2st_margin(noisy, one) == pytest.approx(2 * (0.01 / 3) ** 0.5) and not degraded(noisy, one)


def _state_measures(**values):
    """Measures of a plain sharp face, with `values` changed (states.classify's inputs)."""
    return {"sharpness": 0.9, "fine_detail": 0.9, "pixel_noise": 3.0, "input_spread": 1.0, "brightness_gap": 0.0,
            "contrast": 1.0, "structure": 0.4, "target_spread": 0.8, "copy_ratio": 0.9, "expr_acc": 1.0, "source_expr_acc": 0.0,
            **values}


def test_old_state_rules_read_the_same_measures_as_they_did():
    from expr_gan.replication.states import classify

    textured_copy = _state_measures(structure=0.22, target_spread=0.1, copy_ratio=0.4, expr_acc=0.06,
                                    source_expr_acc=0.82)
    assert classify(textured_copy) == "copy"
    assert classify(textured_copy, {"copy_judge": False, "copy_structure": 0.2}) == "sharp face"
    # R7's known cases, as recorded: the design card's smudged copies (identical columns) and the cGAN without
    # its adversarial term (a blurred eyeless head the judge reads as the target in 42 %; its pixel-rule
    # `copy` label implies target_spread <= 0.25)
    design_card = _state_measures(structure=0.36, target_spread=0.32, sharpness=0.91, expr_acc=0.04,
                                  source_expr_acc=0.75)
    assert classify(design_card) == "copy" and classify(design_card, {"copy_judge": False}) == "sharp face"
    no_adv = _state_measures(structure=0.19, target_spread=0.2, copy_ratio=0.61, sharpness=0.29, expr_acc=0.42,
                             source_expr_acc=0.4)
    assert classify(no_adv) == "blurry face" and classify(no_adv, {"copy_judge": False}) == "copy"
    oval = _state_measures(structure=0.7)
    assert classify(oval) == "shapeless" and classify(oval, {"shapeless_structure": 0.8}) == "sharp face"
    blotches = _state_measures(contrast=1.3, structure=1.1, sharpness=0.5, fine_detail=0.5)
    assert classify(blotches) == "noise" and classify(blotches, {"blotch": False}) == "shapeless"
    faded_blob = _state_measures(contrast=0.5, structure=0.9)
    assert classify(faded_blob) == "faded"
    assert classify(faded_blob, {"faded_first": False, "shapeless_structure": 0.8}) == "shapeless"


def test_the_revision_log_gives_each_revised_tests_old_verdict_on_the_same_run():
    from expr_gan.replication.preregistration import REVISIONS, revision_rows

    assert len({r.id for r in REVISIONS}) == len(REVISIONS) and all(r.old != r.new for r in REVISIONS)
    # claim 6 as measured on 2026-11-30: a copy by its state, copy_ratio 0.40 (above the old 0.3)
    dcgan = _job("copy", cond_sensitivity=0.0067,
                 photo={"layout": 0.20, "moved_from_input": 0.066, "spread_between_targets": 0.0066, "crop": "haar"},
                 **_state_measures(structure=0.22, target_spread=0.1, copy_ratio=0.40, sharpness=0.89, expr_acc=0.06,
                                   source_expr_acc=0.82))
    dcgan["status"] = "ok"
    rows = revision_rows([_claim("6"), _claim("10")], {"dcgan": dcgan})
    by = {(r["revision"], r["claim"]): (r["verdict_now"], r["verdict_old_rule"]) for r in rows}
    assert by[("R1", "6")] == (C.REPRODUCED, C.NOT_REPRODUCED)  # "copies the input" is a core part
    assert by[("R5", "10")] == (C.PARTLY, C.NOT_REPRODUCED)  # the photo back only by the old mean difference
    # copy at structure <= 0.2: the job (0.22) is a sharp face, no copy; claim 6 changes, claim 10 (any face
    # state) does not, so a state revision lists only the claims it changes
    assert by[("R2", "6")] == (C.REPRODUCED, C.NOT_REPRODUCED) and ("R2", "10") not in by
    assert by[("R4", "none")] == ("", "no verdict changes")  # no blotches here
    assert by[("R8", "none")] == ("", "no verdict changes")  # no grain (pixel noise 3.0)
    grainy = {**dcgan, "extra": {**dcgan["extra"], "pixel_noise": 7.5, "state": "noise"}}
    by = {(r["revision"], r["claim"]): (r["verdict_now"], r["verdict_old_rule"])
          for r in revision_rows([_claim("6")], {"dcgan": grainy})}
    assert by[("R8", "6")] == (C.NOT_AT_END, C.REPRODUCED)  # the copy under grain of 7.5 grey levels
    # a revision that changes only another reading's verdict is listed too, with the verdicts as the table shows them
    rows = revision_rows([_claim("6")], {"dcgan": dcgan, "dcgan__literal": {**grainy}})
    by = {(r["revision"], r["claim"]): (r["verdict_now"], r["verdict_old_rule"]) for r in rows}
    assert by[("R8", "6")] == (f"{C.REPRODUCED} under the reading taken; {C.NOT_AT_END} under dcgan__literal",
                               C.REPRODUCED)
    unrecorded = {**dcgan, "extra": {k: v for k, v in dcgan["extra"].items() if k != "fine_detail"}}
    assert {r["verdict_old_rule"] for r in revision_rows([_claim("6")], {"dcgan": unrecorded})
            if r["revision"] == "R2"} == {"not recorded"}


def test_the_report_shows_the_revision_log(tmp_path):
    from expr_gan.replication.report import markdown

    row = {"revision": "R1", "commit": "469b275", "what": "claim 6", "old": "copy_ratio <= 0.3", "new": "state copy",
           "why": "one rule", "claim": "6", "verdict_now": "reproduced", "verdict_old_rule": "not reproduced"}
    text = markdown([], [], "tiny", tmp_path, {}, 0.1, [row])
    assert "Revision log" in text and "| R1 | 469b275 | claim 6 | copy_ratio <= 0.3 | state copy | one rule | 6 | " \
                                      "reproduced | not reproduced |" in text
