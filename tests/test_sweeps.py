"""Multiruns with the basic and joblib launchers, a failing job, the sweep report, launcher/Optuna configs."""
import csv
import json
from pathlib import Path

import torch

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
    assert len(jobs) == 4
    for job in jobs:  # each job's own metrics and final weights
        assert json.loads((job / "metrics.json").read_text())["val/loss_rec"] > 0
        assert torch.load(job / "checkpoints" / "last.ckpt", weights_only=True)["expr_gan_batches_trained"] > 0
    report = run_cli("expr_gan.report", f"dir={sweep}", "sort=val/loss_rec", "ascending=true", cwd=REPO)
    assert report.returncode == 0, report.stderr
    rows = list(csv.DictReader(open(sweep / "report.csv")))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert {r["overrides"] for r in rows} == {f"loss={a} optimizer={b}" for a in ("mse", "smoothl1") for b in ("adam", "sgd")}
    values = [float(r["val/loss_rec"]) for r in rows]
    assert values == sorted(values)
    from PIL import Image
    assert Image.open(sweep / "report.png").size == (720, 30 + 22 * 4)  # one bar per job
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


def _hydra_cfg(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


@pytest.mark.parametrize("launcher,cls,check", [
    ("slurm", "SlurmLauncher", lambda obj: obj.params["partition"] == "gpu" and obj.params["gpus_per_node"] == 1),
    ("local_gpus", "LocalLauncher", lambda obj: obj.params["gpus_per_node"] == 1 and obj.params["tasks_per_node"] == 1),
    ("joblib", "JoblibLauncher", lambda obj: obj.joblib["n_jobs"] == -1),
])
def test_launchers_instantiate_with_their_settings(launcher, cls, check):
    from hydra.utils import instantiate

    obj = instantiate(_hydra_cfg(f"hydra/launcher={launcher}").hydra.launcher, _convert_="partial")
    assert type(obj).__name__ == cls and check(obj)


def test_optuna_search_space_parses_into_distributions():
    from hydra.utils import instantiate
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides
    from optuna.distributions import CategoricalDistribution, LogUniformDistribution, UniformDistribution

    cfg = _hydra_cfg("experiment=ours_cpu", "hparams_search=ours_optuna")
    sweeper = instantiate(cfg.hydra.sweeper, _convert_="partial")
    assert type(sweeper).__name__ == "OptunaSweeper" and cfg.optimized_metric == "val/expr_acc"
    space, fixed = create_params_from_overrides([f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()])
    assert not fixed and cfg.hydra.sweeper.direction == "maximize"
    rec = space["model.g_terms.rec.weight"]
    assert isinstance(rec, LogUniformDistribution) and rec.high == 300
    assert isinstance(space["model.g_terms.mask.weight"], UniformDistribution)
    assert set(space["model.gan_loss.mode"].choices) == {"lsgan", "hinge", "bce"}
    assert isinstance(space["model.gan_loss.mode"], CategoricalDistribution)


@pytest.mark.parametrize("name,jobs", [("ablation_two_step", 144), ("ablation_dcgan_iters", 4)])
def test_ablation_experiments_are_multiruns(name, jobs):
    """Expanded by Hydra's own sweeper, as `-m` would: every job composes."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = _hydra_cfg(f"experiment={name}")
    assert str(cfg.hydra.mode).endswith("MULTIRUN")
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()])
    (batch,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    assert len(batch) == jobs and len({tuple(job) for job in batch}) == jobs
    job_cfg = _hydra_cfg(f"experiment={name}", *batch[-1])  # the last job composes too
    assert job_cfg.task_name == name


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


@pytest.mark.slow
def test_ddp_validation_metrics_equal_the_single_process_values(tmp_path):
    """trainer=ddp over 2 gloo processes, an odd validation split, a cold referee cache and
    monitor=val/expr_acc: val/loss_rec and val/cls_acc are over ALL validation pairs once (no padded
    repeats), val/expr_acc etc. reach every rank, and each equals one process scoring the final weights."""
    import json

    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from expr_gan.checkpoint import build_module, load_checkpoint

    run, cold = tmp_path / "run", tmp_path / "cold_cache"
    result = run_cli("expr_gan.train", "model=joint", "debug=tiny", "trainer=ddp", "trainer.accelerator=cpu",
                     "trainer.devices=2", "data.pair_policy=from_neutral", "callbacks.eval_metrics.every_n_epochs=1",
                     "callbacks.eval_metrics.referees=true", "callbacks.eval_metrics.c2st=${c2st}",
                     "callbacks.best_checkpoint.monitor=val/expr_acc", "callbacks.best_checkpoint.mode=max",
                     "print_config=false", f"hydra.run.dir={run}", cwd=REPO, timeout=900,
                     env={"EXPR_GAN_CACHE_DIR": str(cold)})
    assert result.returncode == 0, result.stderr[-4000:]
    assert sorted(p.name.split("-")[0] for p in cold.glob("*.pt") if not p.name.startswith("synthetic")) == \
        ["identity", "judge"]  # the referees were trained by this run (before the second process started)
    logged = json.loads((run / "metrics.json").read_text())
    ckpt = load_checkpoint(run / "checkpoints" / "last.ckpt")  # written at the end of the last validation
    from helpers import best_record

    record = best_record(ckpt)
    assert record["monitor"] == "val/expr_acc" and Path(record["best_model_path"]).is_file()
    module = build_module(ckpt)
    cfg = OmegaConf.create(ckpt["expr_gan_config"])
    OmegaConf.update(cfg, "data.cache_dir", str(cold))
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    dm.setup()
    assert len(dm.val_pairs) % 2 == 1  # two unequal shards: a padding sampler would repeat one pair
    correct = seen = 0
    loss_sum = 0.0
    with torch.no_grad():
        for batch in dm.val_dataloader():
            _, refined, features = module.forward_stages(batch["source"], batch["target_onehot"])
            correct += int((module.head(features[module.cls_level]).argmax(1) == batch["target_expr"]).sum())
            seen += len(batch["source"])
            loss_sum += float(module.loss_fn(refined, batch["target"])) * len(batch["source"])
    assert seen == len(dm.val_pairs)
    assert logged["val/cls_acc"] == pytest.approx(correct / seen, abs=1e-6)
    assert logged["val/loss_rec"] == pytest.approx(loss_sum / seen, rel=1e-5)
    callback = instantiate(cfg.callbacks.eval_metrics)  # the same callback, in one process
    callback.prepare(dm)
    one = callback.evaluator.evaluate(callback.pairs, module.translate, dm.pixels, max_sources=callback.max_sources)
    for key in ("expr_acc", "id_acc", "c2st_acc", "sharpness", "copy_ratio"):
        assert logged[f"val/{key}"] == pytest.approx(one[key], abs=1e-6), key


@pytest.mark.slow
def test_the_submitit_local_launcher_runs_a_sweep(tmp_path, cache_dir):
    """The SLURM launcher's local twin: each job in its own submitit process, the sweep dir as usual."""
    sweep = tmp_path / "sweep"
    result = run_cli("expr_gan.train", "-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10",
                     "model=generation", "loss=l1,mse", "debug=tiny", "logger=none", "callbacks.eval_metrics=null",
                     "trainer.max_epochs=1", "print_config=false", f"hydra.sweep.dir={sweep}", cwd=REPO, timeout=900,
                     env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = [json.loads((sweep / str(i) / "metrics.json").read_text()) for i in range(2)]
    assert all(m["val/loss_rec"] > 0 for m in metrics) and metrics[0]["val/loss_rec"] != metrics[1]["val/loss_rec"]
    assert (sweep / ".submitit").is_dir()  # it went through submitit, not the basic launcher
