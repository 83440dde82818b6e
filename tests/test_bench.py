"""The benchmark harness produces a record per case with both loops timed, and the startup time."""
import json
from pathlib import Path
import statistics

from conftest import REPO, run_cli


def test_bench_writes_records(tmp_path, cache_dir):
    result = run_cli("expr_gan.bench", "cases=[generation,dcgan]", "steps=6", "chunk=2", "warmup=1", "size=32",
                     "batch=8", "width=8", "photo=false", f"out={tmp_path}", cwd=REPO, env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "bench.json").read_text())
    assert [r["case"] for r in data["records"]] == ["generation", "dcgan"]
    for r in data["records"]:
        assert r["ours_img_s"] > 0 and r["plain_img_s"] > 0 and r["chunks"] == 3 == len(r["chunk_ratios"])
        assert r["ratio"] == statistics.median(r["chunk_ratios"]) and r["ratio_spread"][0] <= r["ratio"] <= r["ratio_spread"][1]
        assert 0 <= r["data_wait_share"] < 1 and r["device"] == "cpu" and r["precision"] == "32-true"
    assert 0 < data["help_seconds"] < 30
    assert "| generation |" in result.stdout and "--help" in result.stdout
    bad = run_cli("expr_gan.bench", "cases=nope", cwd=REPO)
    assert bad.returncode == 2 and "unknown ['nope']" in bad.stderr
    assert (tmp_path / "command.yaml").is_file()  # the composed config lands in the run dir
    assert data["photo"] is None and "photo path" not in result.stdout


def test_bench_times_the_photo_path(tmp_path):
    """cases=[]: only the photo path, on Grace Hopper's 512 x 600 portrait (or a clear skip without the face extra)."""
    from expr_gan.photo.landmarks import landmarks_available
    from expr_gan.photo.packaged import grace_hopper

    result = run_cli("expr_gan.bench", "cases=[]", "photo_repeats=1", f"out={tmp_path}", cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    photos = json.loads((tmp_path / "bench.json").read_text())["photo"]
    if grace_hopper() is None or not landmarks_available():
        assert photos is None and "photo path: skipped" in result.stdout
        return
    assert [p["model"] for p in photos] == ["ours_cpu", "warp_cpu"]  # conf/bench.yaml photo_models
    for photo in photos:
        assert (photo["width"], photo["height"], photo["faces"], photo["targets"]) == (512, 600, 1, 6)
        assert photo["detect_s"] > 0 and photo["model_edit_s"] > 0 and photo["warp_s"] > 0
        assert photo["ratio_model_warp"] == photo["model_edit_s"] / photo["warp_s"]
        assert photo["photo_s"] == photo["open_s"] + photo["detect_s"] + photo["model_edit_s"]
    assert result.stdout.count("| model: align, edit, paste |") == 2 and "warp_cpu at 64 px" in result.stdout


def test_every_family_has_a_plain_reference_and_others_get_a_clear_error():
    import pytest

    from expr_gan.commands.bench import CASES, plain_step, plain_steps
    from expr_gan.modules.base import ExpressionEditModule

    # every LightningModule family in expr_gan/modules/ (found, not listed) has a plain reference step
    import importlib
    import pkgutil

    import expr_gan.modules

    for info in pkgutil.iter_modules(expr_gan.modules.__path__):
        importlib.import_module(f"expr_gan.modules.{info.name}")
    found, pending = set(), list(ExpressionEditModule.__subclasses__())
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending += cls.__subclasses__()
    found = {cls for cls in found if cls.__module__.startswith("expr_gan.modules.")}
    assert found and found <= set(plain_steps()), sorted(c.__name__ for c in found - set(plain_steps()))
    # every model config builds a family the bench can time, and every case composes
    models = {p.stem for p in (Path(__file__).parents[1] / "conf" / "model").glob("*.yaml")}
    experiments = {p.stem for p in (Path(__file__).parents[1] / "conf" / "experiment").glob("*.yaml")}
    assert {o.split("=")[1] for case in CASES.values() for o in case if o.startswith("model=")} <= models
    assert {o.split("=")[1] for case in CASES.values() for o in case if o.startswith("experiment=")} <= experiments

    class NewFamily(ExpressionEditModule):
        pass

    with pytest.raises(ValueError, match="NewFamily has no plain reference step; add one to plain_steps"):
        plain_step(NewFamily(), {}, [])


def _twin_runs(make_cfg, *overrides: str, batches: int = 6):
    """One tiny GAN module trained `batches` batches by Trainer.fit, and a copy of it trained on the same
    batches, in the same order and from the same RNG state, by the bench's plain step."""
    import copy

    import pytorch_lightning as pl
    import torch
    from hydra.utils import instantiate

    from expr_gan.commands.bench import fresh_optimizers, plain_step
    from expr_gan.callbacks.batch_clock import BatchClock

    cfg = make_cfg(*overrides)
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    torch.manual_seed(0)
    module = instantiate(cfg.model)
    twin = copy.deepcopy(module)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=batches, limit_val_batches=0, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         callbacks=[BatchClock()])
    torch.manual_seed(1)
    trainer.fit(module, datamodule=dm)
    optimizers = fresh_optimizers(twin)  # the default run decays its learning rate per epoch: after these batches
    dm.train_sampler.set_epoch(0)  # the order Lightning's first epoch had
    torch.manual_seed(1)
    for index, batch in zip(range(batches), dm.train_dataloader()):
        plain_step(twin, batch, optimizers, index)
    return module, twin


def test_the_plain_gan_step_trains_what_the_module_trains(make_cfg):
    """The bench compares like with like: StarGAN's G on every 2nd batch, WGAN-GP (random interpolates),
    gradient-norm clipping and the EMA, and the plain loop ends with the same weights, bit for bit."""
    import torch

    module, twin = _twin_runs(make_cfg, "experiment=stargan_cpu", "debug=tiny", "model.g_every_n_batches=2",
                              "model.gradient_clip_val=0.5", "model.ema_decay=0.9", "model.generator.num_blocks=1")
    ours, plain = module.state_dict(), twin.state_dict()
    assert int(ours["ema_updates"]) == 3  # G stepped on batches 0, 2, 4
    moved = [k for k in ours if not torch.equal(ours[k], plain[k])]
    assert not moved, moved[:5]


def test_a_plain_step_skips_what_depends_on_a_non_finite_update(make_cfg):
    """With a D term that turns NaN from its 3rd call, neither loop updates G or its EMA from the 3rd
    batch on (on_nonfinite=skip), and both end with the same weights."""
    import torch

    module, twin = _twin_runs(make_cfg, "model=dcgan", "model.ema_decay=0.9", "on_nonfinite=skip",
                              "+model.d_terms.nan={_target_: helpers.NaNTerm, phase: D, after: 2}", batches=4)
    assert int(module.ema_updates) == int(twin.ema_updates) == 2 and module.nonfinite_skipped == 2
    ours, plain = module.state_dict(), twin.state_dict()
    assert all(torch.equal(ours[k], plain[k]) for k in ours)


def test_an_unknown_photo_model_is_named_before_any_case_runs(tmp_path):
    result = run_cli("expr_gan.bench", "photo_models=[ours_cpu,nope]", f"out={tmp_path / 'b'}", cwd=REPO)
    assert result.returncode == 2 and "photo_models: unknown experiments ['nope']" in result.stderr
    assert not (tmp_path / "b").exists()
