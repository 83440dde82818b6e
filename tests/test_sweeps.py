"""Multiruns with the basic and joblib launchers, a failing job, the sweep report, launcher/Optuna configs."""
import csv
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from expr_gan.config import config_dir
from conftest import REPO, run_cli

TINY_JOB = ["model=generation", "debug=tiny", "print_config=false", "trainer.max_epochs=1", "callbacks.eval_metrics.max_pairs=32"]


def _jobs(sweep: Path) -> list[Path]:
    return sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_2x2_multirun_and_report(tmp_path, cache_dir, launcher):
    sweep = tmp_path / "sweep"
    extra = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"] if launcher == "joblib" else []
    result = run_cli("expr_gan.train", "-m", "loss=mse,smoothl1", "optimizer=adam,sgd", *TINY_JOB, *extra,
                     f"hydra.sweep.dir={sweep}", cwd=REPO, env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = _jobs(sweep)
    assert len(jobs) == 4 and all((j / "metrics.json").is_file() and (j / "checkpoints" / "last.ckpt").is_file() for j in jobs)
    report = run_cli("expr_gan.report", f"dir={sweep}", "sort=val/loss_rec", "ascending=true", cwd=REPO)
    assert report.returncode == 0, report.stderr
    rows = list(csv.DictReader(open(sweep / "report.csv")))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert {r["overrides"] for r in rows} == {f"loss={a} optimizer={b}" for a in ("mse", "smoothl1") for b in ("adam", "sgd")}
    values = [float(r["val/loss_rec"]) for r in rows]
    assert values == sorted(values) and (sweep / "report.png").stat().st_size > 0
    assert "| job | status | overrides |" in (sweep / "report.md").read_text()


@pytest.mark.slow
def test_a_failing_job_does_not_stop_the_sweep(tmp_path, cache_dir):
    sweep = tmp_path / "sweep"
    result = run_cli("expr_gan.train", "-m", "data.size=32,36", *TINY_JOB, f"hydra.sweep.dir={sweep}", cwd=REPO,
                     env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    ok, failed = _jobs(sweep)
    assert (ok / "metrics.json").is_file() and not (failed / "metrics.json").exists()
    assert "image size 36 is not supported" in (failed / "error.txt").read_text()
    run_cli("expr_gan.report", f"dir={sweep}", cwd=REPO)
    rows = {r["overrides"]: r for r in csv.DictReader(open(sweep / "report.csv"))}
    assert rows["data.size=36"]["status"] == "failed" and "image size 36" in rows["data.size=36"]["error"]
    assert rows["data.size=32"]["status"] == "ok"


def test_a_failing_single_run_still_fails_loudly(tmp_path):
    result = run_cli("expr_gan.train", "debug=tiny", "data.size=36", f"hydra.run.dir={tmp_path}/run", cwd=REPO)
    assert result.returncode != 0 and (tmp_path / "run" / "error.txt").is_file()


@pytest.mark.parametrize("overrides,key,value", [
    (["hydra/launcher=slurm"], "partition", "gpu"),
    (["hydra/launcher=local_gpus"], "gpus_per_node", 1),
    (["hydra/launcher=joblib"], "n_jobs", -1),
    (["experiment=ours_cpu", "hparams_search=ours_optuna"], "direction", "maximize"),
])
def test_launcher_and_optuna_configs_compose(overrides, key, value):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    node = cfg.hydra.sweeper if "hparams_search" in " ".join(overrides) else cfg.hydra.launcher
    assert node[key] == value
    if "hparams_search" in " ".join(overrides):
        assert cfg.optimized_metric == "val/expr_acc" and "model.lambda_rec" in node.params


def test_ablation_experiments_are_multiruns():
    for name, jobs in (("ablation_two_step", 144), ("ablation_dcgan_iters", 4)):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose("train", overrides=[f"experiment={name}"], return_hydra_config=True)
        assert str(cfg.hydra.mode).endswith("MULTIRUN")
        count = 1
        for values in cfg.hydra.sweeper.params.values():
            count *= len(str(values).split(","))
        assert count == jobs


@pytest.mark.slow
def test_ddp_two_cpu_processes_train_the_gan(tmp_path, cache_dir):
    """trainer=ddp as 2 gloo processes on the CPU: the cGAN's unused-parameter problem is handled,
    both ranks train, rank 0 alone writes grids and files into the one run dir."""
    run = tmp_path / "run"
    result = run_cli("expr_gan.train", "model=dcgan", "debug=tiny", "trainer=ddp", "trainer.accelerator=cpu",
                     "trainer.devices=2", "print_config=false", f"hydra.run.dir={run}", cwd=REPO, timeout=900,
                     env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-4000:]
    assert "MEMBER: 2/2" in result.stdout + result.stderr
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["epoch_0000.png", "epoch_0001.png"]
    ckpt = __import__("torch").load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert any(k.startswith("discriminator.") for k in ckpt["state_dict"]) and ckpt["global_step"] > 0
    assert (run / "metrics.json").is_file() and [p.name for p in tmp_path.iterdir()] == ["run"]
