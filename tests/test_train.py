"""End-to-end: train(cfg) in-process and the CLI in a subprocess, with what a run leaves behind."""
import json
from pathlib import Path

import pytest
import torch

from expr_gan.commands.train import train
from conftest import REPO, run_cli
from helpers import assert_trained


def test_fast_dev_run_in_process(make_cfg):
    metrics = train(make_cfg("+trainer.fast_dev_run=true"))
    assert "train/G/loss_rec" in metrics
    assert_trained(metrics)


def test_tiny_run_leaves_config_checkpoints_grids(make_cfg):
    cfg = make_cfg()
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    from omegaconf import OmegaConf
    assert OmegaConf.load(run / "config.yaml") == OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    assert json.loads((run / "metrics.json").read_text()) == pytest.approx(metrics)
    info = json.loads((run / "run_info.json").read_text())
    assert info["epochs"] == 2 and info["batches"] > 0 and info["fit_seconds"] > 0
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["epoch_0000.png", "epoch_0001.png"]
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["expr_gan_config"]["model"]["_target_"].endswith("GenerationModule")
    assert ckpt["expr_gan_pixels"]["mode"] == "symmetric"


def test_grid_shows_sources_outputs_and_truth(make_cfg):
    from PIL import Image
    cfg = make_cfg("data.num_samples=2", "data.num_identities=20")
    train(cfg)
    grid = Image.open(Path(cfg.paths.output_dir) / "samples" / "epoch_0001.png")
    # 2 people x (output row + truth row), 1 source column + 6 expressions, 32 px tiles, 2 px padding
    assert grid.size == (7 * 34 + 2, 4 * 34 + 2)


def test_cli_writes_tensorboard_scalars_and_images(tmp_path, cache_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    result = run_cli("expr_gan.train", "debug=tiny", f"hydra.run.dir={tmp_path}/run", cwd=REPO,
                     env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "_target_: expr_gan.modules.conditional_gan.ConditionalGANModule" in result.stdout  # the printed config: ours
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard")).Reload()
    scalars = events.Tags()["scalars"]
    assert any(t.startswith("train/") for t in scalars) and "val/loss_rec" in scalars
    assert "samples/grid" in events.Tags()["images"]
    import yaml
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["model"]["_target_"].endswith("ConditionalGANModule") and saved["paths"]["output_dir"] == str(tmp_path / "run")
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()  # Hydra's own copy, unresolved
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    tags = {v.tag for f in (tmp_path / "run" / "tensorboard").glob("events*") for ev in EventFileLoader(str(f)).Load()
            for v in ev.summary.value}
    assert "_hparams_/session_start_info" in tags  # the HPARAMS tab
    # the default run's evaluation: the referee-free metrics once, at the end (expr_gan.evaluate adds the rest)
    assert {"val/cond_sensitivity", "val/copy_ratio", "val/sharpness"} <= set(scalars)
    assert not {"val/expr_acc", "val/id_acc", "val/c2st_acc"} & set(scalars)
    phases = {p["name"] for p in json.loads((tmp_path / "run" / "timings.json").read_text())["phases"]}
    assert "evaluation/epoch_1" in phases and "evaluation/epoch_0" not in phases
    assert not any(name.startswith("referee/") for name in phases)  # not needed, so neither trained nor loaded


def test_cli_rejects_bad_overrides(tmp_path):
    result = run_cli("expr_gan.train", "model=nonexistent", f"hydra.run.dir={tmp_path}/run", cwd=REPO)
    assert result.returncode != 0 and "model/nonexistent" in result.stderr
    result = run_cli("expr_gan.train", "debug=tiny", "data.size=36", f"hydra.run.dir={tmp_path}/run2", cwd=REPO)
    assert result.returncode != 0 and "image size 36 is not supported" in result.stderr


def test_cli_dcgan_smoothl1_as_typed(tmp_path, cache_dir):
    result = run_cli("expr_gan.train", "model=dcgan", "loss=smoothl1", "debug=tiny", "print_config=false",
                     f"hydra.run.dir={tmp_path}/run", cwd=REPO, env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["expr_gan_config"]["model"]["_target_"].endswith("ConditionalGANModule")
    assert ckpt["expr_gan_config"]["loss"]["_target_"] == "torch.nn.SmoothL1Loss"


def test_cli_user_errors_are_one_line_without_a_traceback(tmp_path):
    (tmp_path / "empty").mkdir()
    for args, expected in ((["data=folder", f"data.root={tmp_path}/missing"], "missing does not exist"),
                           (["data=folder", f"data.root={tmp_path}/empty"], "is empty"),
                           (["+trainer.gradient_clip_val=1"], "use model.gradient_clip_val")):
        result = run_cli("expr_gan.train", "debug=tiny", "print_config=false", *args, f"hydra.run.dir={tmp_path}/run", cwd=REPO)
        assert result.returncode == 2, result.stderr[-2000:]
        assert f"error: " in result.stderr and expected in result.stderr and "Traceback" not in result.stderr
        assert "HYDRA_FULL_ERROR=1" in result.stderr and (tmp_path / "run" / "error.txt").is_file()
    full = run_cli("expr_gan.train", "debug=tiny", "data=folder", f"data.root={tmp_path}/missing",
                   f"hydra.run.dir={tmp_path}/run", cwd=REPO, env={"HYDRA_FULL_ERROR": "1"})
    assert full.returncode != 0 and "Traceback" in full.stderr


def test_a_run_leaves_the_process_as_it_found_it(make_cfg, monkeypatch):
    """Importing expr_gan sets no warning filter; train() restores the filters, cudnn.benchmark and the
    matmul precision, keeps a caller's gc.freeze, and never touches the umask (not thread-safe)."""
    import gc
    import os
    import warnings

    import torch

    import expr_gan.modules.base  # noqa: F401 - imported: must not have installed a filter
    assert not any(f[1] is not None and "on_after_batch_transfer" in f[1].pattern for f in warnings.filters)
    filters, precision = list(warnings.filters), torch.get_float32_matmul_precision()
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    monkeypatch.setattr(os, "umask", lambda *a: pytest.fail("os.umask called (it sets the mask to read it)"))
    cfg = make_cfg("logger=none", "callbacks.eval_metrics=null", "speed.cudnn_benchmark=true", "trainer.max_epochs=1")
    gc.freeze()  # the caller's own frozen heap
    try:
        train(cfg)
        assert gc.get_freeze_count() > 0, "train() unfroze the caller's heap"
    finally:
        gc.unfreeze()
    assert warnings.filters == filters and torch.backends.cudnn.benchmark is False
    assert torch.get_float32_matmul_precision() == precision
    train(cfg)  # no caller freeze: train freezes for the run and unfreezes after
    assert gc.get_freeze_count() == 0
    assert oct(Path(cfg.paths.output_dir, "config.yaml").stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's
