"""The replication: its decision rules on inputs whose answer is known, and the whole run at tiny scale."""
import json

import pytest
import torch

from expr_gan.replication import claims as C
from expr_gan.replication.measures import convergence, pose_bias


def test_noise_and_learning_rules_on_known_images():
    gen = torch.Generator().manual_seed(0)
    targets = torch.rand(64, 3, 16, 16, generator=gen) * 0.2 + 0.4  # face-like: near a mean grey
    mean_face_l1 = float((targets - targets.mean(0)).abs().mean())
    noise = torch.rand(64, 3, 16, 16, generator=gen)
    assert C.is_noise(float((noise - targets).abs().mean()), mean_face_l1)
    good = targets + 0.01 * torch.randn(64, 3, 16, 16, generator=gen)
    assert C.learns(float((good - targets).abs().mean()), mean_face_l1)
    assert not C.is_noise(float((good - targets).abs().mean()), mean_face_l1)


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


def test_identity_claim_on_a_copy_and_on_real_edits():
    oracle = {"cond_sensitivity": 0.07}
    copy = {"cond_sensitivity": 0.0, "copy_ratio": 0.0, "source_expr_acc": 1.0, "id_acc": 1.0, "sharpness": 1.0, "expr_acc": 0.0}
    results = {"dcgan": {"eval": copy, "baselines": {"oracle": oracle}}}
    assert C._identity(results)[1] == C.REPRODUCED
    edits = {**copy, "cond_sensitivity": 0.05, "copy_ratio": 0.9, "source_expr_acc": 0.0, "expr_acc": 0.95}
    results["dcgan"]["eval"] = edits
    assert C._identity(results)[1] == C.NOT_REPRODUCED


@pytest.mark.slow
def test_tiny_replication_runs_every_claim_and_survives_a_failing_job(tmp_path, cache_dir, monkeypatch):
    from expr_gan import replicate
    from expr_gan.replication import jobs

    broken = jobs.Job("dcgan_standard", ("experiment=paper_dcgan", "pixels=standard", "data.size=36"), jobs.DCGAN)
    monkeypatch.setitem(jobs.JOBS, "dcgan_standard", broken)
    out = tmp_path / "rep"
    assert replicate.main(["budget=tiny", f"out={out}"]) == 0
    data = json.loads((out / "replication.json").read_text())
    rows = {r["claim"]: r for r in data["claims"]}
    assert sorted(rows, key=int) == [str(i) for i in range(1, 11)]
    assert rows["9"]["verdict"] == "not run" and "image size 36 is not supported" in rows["9"]["why"]
    assert data["jobs"]["dcgan_standard"]["status"] == "failed"
    for claim, row in rows.items():
        if claim != "9":
            assert row["measured"] and row["verdict"] in (C.REPRODUCED, C.PARTLY, C.NOT_REPRODUCED), row
            assert (out / row["figure"]).is_file()
    text = (out / "replication.md").read_text()
    assert text.count("\n| ") >= 10 + len(data["jobs"]) and "**not run**" in text
    # run again: finished jobs are skipped (their files are not rewritten), the failed one is retried
    stamp = (out / "jobs" / "dcgan" / "metrics.json").stat().st_mtime
    assert replicate.main(["budget=tiny", f"out={out}", "claims=6,9"]) == 0
    assert (out / "jobs" / "dcgan" / "metrics.json").stat().st_mtime == stamp
    assert "image size 36" in (out / "jobs" / "dcgan_standard" / "error.txt").read_text()


def test_bad_options_are_clear_errors(tmp_path):
    from conftest import REPO, run_cli

    result = run_cli("expr_gan.replicate", "budget=huge", cwd=REPO)
    assert result.returncode == 2 and "budget='huge': expected one of tiny, cpu, paper" in result.stderr
    result = run_cli("expr_gan.replicate", "claims=11", f"out={tmp_path}", cwd=REPO)
    assert result.returncode == 2 and "claims: unknown ['11']" in result.stderr
