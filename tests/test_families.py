"""The four model families: short runs for every combination, manual optimisation, frozen stages, reloads."""
import itertools
from pathlib import Path

import pytest
import torch
import pytorch_lightning as pl

import helpers
from expr_gan.checkpoint import build_module, load_checkpoint
from expr_gan.commands.train import train
from helpers import assert_trained

MODELS = ["generation", "refinement", "joint", "dcgan"]
LOSSES = ["mse", "smoothl1", "l1", "mse_sum"]
OPTIMIZERS = ["adam", "sgd"]
NORMS = ["none", "minimal", "all"]
SHORT = ["trainer.max_epochs=1", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1",
         "data.num_samples=1", "callbacks=none", "logger=none", "+callbacks.check._target_=helpers.TrainingCheck"]
COMBOS = list(itertools.product(MODELS, LOSSES, OPTIMIZERS, NORMS))
# the fast tier covers every option of every axis at least once; the slow tier the whole product
FAST = [c for i, c in enumerate(COMBOS) if i % 7 == 0] + [("dcgan", "smoothl1", "adam", "all")]


@pytest.mark.parametrize("model", MODELS)
def test_fast_dev_run(make_cfg, model):
    """One training and one validation batch: every logged value finite and the translating networks'
    weights changed (the step trained something, it did not only run)."""
    helpers.TrainingCheck.last = None
    metrics = train(make_cfg(f"model={model}", "+trainer.fast_dev_run=true",
                             "+callbacks.check._target_=helpers.TrainingCheck"))
    assert_trained(metrics, helpers.TrainingCheck.last)


def _learns(make_cfg, model: str, batches: int) -> None:
    metrics = train(make_cfg(f"model={model}", "callbacks=none", "logger=none", "trainer.max_epochs=50",
                             "+callbacks.check._target_=helpers.TrainingCheck", f"max_batches={batches}"))
    assert_trained(metrics, helpers.TrainingCheck.last, loss_down=True)


def test_ours_learns(make_cfg):
    """30 batches: ours' reconstruction loss (L1 x100 to the aligned target) on a fixed held-out batch falls."""
    _learns(make_cfg, "ours", 30)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["generation", "refinement", "joint"])
def test_each_pixel_loss_family_learns(make_cfg, model):
    """200 batches with Adam: the reconstruction loss on a fixed held-out batch falls (the generation net
    first gets worse than its near-constant initial output: after 30 batches 0.31 -> 0.41, after 200 0.27).
    The report's cGAN (`dcgan`, L1 x1 beside BCE) is not expected to: its adversarial term dominates."""
    _learns(make_cfg, model, 200)


def _short(make_cfg, model, loss, optimizer, norm):
    helpers.TrainingCheck.last = None
    metrics = train(make_cfg(f"model={model}", f"loss={loss}", f"optimizer={optimizer}", f"norm={norm}", *SHORT))
    assert_trained(metrics, helpers.TrainingCheck.last)


@pytest.mark.parametrize("model,loss,optimizer,norm", FAST)
def test_combination_short_run(make_cfg, model, loss, optimizer, norm):
    _short(make_cfg, model, loss, optimizer, norm)


@pytest.mark.slow
@pytest.mark.parametrize("model,loss,optimizer,norm", [c for c in COMBOS if c not in FAST])
def test_every_combination_short_run(make_cfg, model, loss, optimizer, norm):
    _short(make_cfg, model, loss, optimizer, norm)


def test_every_option_axis_is_covered_by_the_fast_tier():
    for axis, options in enumerate((MODELS, LOSSES, OPTIMIZERS, NORMS)):
        assert {c[axis] for c in FAST} == set(options)


class StepRecorder(pl.Callback):
    """Counts optimizer steps and checks that a step changes only its own network."""

    def __init__(self):
        self.steps = {"G": 0, "D": 0}
        self.violations = []

    def on_train_start(self, trainer, module):
        nets = {"G": module.generator, "D": module.discriminator}
        for name, opt in zip(("G", "D"), trainer.optimizers):
            other = nets["D" if name == "G" else "G"]
            snapshot = {}

            def pre(opt, args, kwargs, other=other, snapshot=snapshot):
                snapshot["other"] = [p.detach().clone() for p in other.parameters()]
                snapshot["mine"] = [p.detach().clone() for g in opt.param_groups for p in g["params"]]

            def post(opt, args, kwargs, name=name, other=other, snapshot=snapshot):
                self.steps[name] += 1
                if any(not torch.equal(a, b) for a, b in zip(snapshot["other"], other.parameters())):
                    self.violations.append(f"{name} step changed the other network")
                mine = [p for g in opt.param_groups for p in g["params"]]
                if all(torch.equal(a, b) for a, b in zip(snapshot["mine"], mine)):
                    self.violations.append(f"{name} step changed nothing")

            opt.register_step_pre_hook(pre)
            opt.register_step_post_hook(post)


@pytest.mark.parametrize("d_steps,g_steps,iters", [(1, 1, 1), (3, 1, 1), (1, 2, 1), (2, 1, 4), (0, 1, 2)])
def test_manual_optimisation_counts_and_isolation(make_cfg, d_steps, g_steps, iters):
    import hydra.utils
    cfg = make_cfg("model=dcgan", f"model.d_steps={d_steps}", f"model.g_steps={g_steps}",
                   f"model.iters_per_batch={iters}", "callbacks=none", "logger=none", "trainer.max_epochs=1",
                   "+trainer.limit_train_batches=3", "+trainer.limit_val_batches=0", "norm=none")
    recorder = StepRecorder()
    dm = hydra.utils.instantiate(cfg.data, pixels=hydra.utils.instantiate(cfg.pixels))
    module = hydra.utils.instantiate(cfg.model)
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=[recorder], logger=False, enable_progress_bar=False)
    trainer.fit(module, datamodule=dm)
    assert recorder.steps == {"D": 3 * iters * d_steps, "G": 3 * iters * g_steps}
    assert recorder.violations == []


def test_batch_budget_counts_batches_not_optimizer_steps(make_cfg):
    cfg = make_cfg("model=dcgan", "model.d_steps=3", "max_batches=4", "logger=none", "trainer.max_epochs=50")
    train(cfg)
    ckpt = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert helpers.completed_batches(ckpt) == 4
    assert ckpt["expr_gan_batches_trained"] == 4
    assert ckpt["global_step"] == 4 * (3 + 1)  # Lightning counts every D and G step


def test_refinement_frozen_stage1_does_not_change(make_cfg):
    first = make_cfg("model=generation", "logger=none")
    train(first)
    stage1 = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    before = {k[4:]: v for k, v in load_checkpoint(stage1)["state_dict"].items() if k.startswith("net.")}
    second = make_cfg("model=refinement", "model.mode=frozen", f"model.stage1_ckpt={stage1}", "logger=none")
    second.paths.output_dir = str(Path(first.paths.output_dir).parent / "run2")
    train(second)
    after = load_checkpoint(Path(second.paths.output_dir) / "checkpoints" / "last.ckpt")["state_dict"]
    for name, tensor in before.items():  # weights and batch-norm statistics alike
        assert torch.equal(after["net." + name], tensor), name


def test_two_step_mode_trains_stage1_then_stage2(make_cfg):
    cfg = make_cfg("model=refinement", "model.mode=two_step", "model.stage1_epochs=1", "trainer.max_epochs=2", "logger=none")
    import hydra.utils
    module = hydra.utils.instantiate(cfg.model)
    snapshots = {}

    class Snap(pl.Callback):
        def on_train_epoch_end(self, trainer, m):
            snapshots[trainer.current_epoch] = ({k: v.clone() for k, v in m.net.state_dict().items()},
                                                {k: v.clone() for k, v in m.refiner.state_dict().items()})

    init_refiner = {k: v.clone() for k, v in module.refiner.state_dict().items()}
    dm = hydra.utils.instantiate(cfg.data, pixels=hydra.utils.instantiate(cfg.pixels))
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=[Snap()], logger=False, enable_progress_bar=False)
    trainer.fit(module, datamodule=dm)
    net0, ref0 = snapshots[0]
    net1, ref1 = snapshots[1]
    assert all(torch.equal(init_refiner[k], ref0[k]) for k in ref0)  # epoch 0: stage 2 untouched
    assert all(torch.equal(net0[k], net1[k]) for k in net0)  # epoch 1: stage 1 frozen
    assert any(not torch.equal(ref0[k], ref1[k]) for k in ref0)


def test_frozen_mode_without_checkpoint_is_a_clear_error(make_cfg):
    with pytest.raises(ValueError, match="stage1_ckpt"):
        train(make_cfg("model=refinement", "model.mode=frozen", "logger=none"))


@pytest.mark.parametrize("model", MODELS)
def test_checkpoints_reload_with_identical_outputs(make_cfg, model):
    cfg = make_cfg(f"model={model}", "logger=none", "trainer.max_epochs=1")
    train(cfg)
    path = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    ckpt = torch.load(path, weights_only=True)
    a, b = build_module(ckpt), build_module(ckpt)
    x, onehot = torch.randn(4, 3, 32, 32), torch.eye(6)[[0, 2, 4, 5]]
    with torch.no_grad():
        assert torch.equal(a.translate(x, onehot), b.translate(x, onehot))
    import hydra.utils
    fresh = hydra.utils.instantiate(cfg.model).eval()
    with torch.no_grad():
        assert not torch.equal(fresh.translate(x, onehot), a.translate(x, onehot))


def test_joint_logs_the_reports_accuracy_table(make_cfg):
    """train/val/test cls_acc are logged; test/cls_acc is the head's accuracy over every test pair with
    the weights of the checkpoint run_test names (the best by val/loss_rec)."""
    from pathlib import Path

    from expr_gan.checkpoint import load_run

    cfg = make_cfg("model=joint", "run_test=true", "logger=none")
    metrics = train(cfg)
    assert {"train/cls_acc", "val/cls_acc", "test/cls_acc"} <= set(metrics)
    assert metrics["test/checkpoint"] in ("epoch_0000.ckpt", "epoch_0001.ckpt")
    module, dm, _ = load_run(Path(cfg.paths.output_dir) / "checkpoints" / metrics["test/checkpoint"])
    correct = seen = 0
    with torch.no_grad():
        for batch in dm.test_dataloader():
            _, _, features = module.forward_stages(batch["source"], batch["target_onehot"])
            correct += int((module.head(features[module.cls_level]).argmax(1) == batch["target_expr"]).sum())
            seen += len(batch["source"])
    assert seen == len(dm.test_pairs) and metrics["test/cls_acc"] == pytest.approx(correct / seen, abs=1e-6)


def test_run_test_without_a_best_checkpoint_uses_the_last_weights(make_cfg):
    metrics = train(make_cfg("model=generation", "run_test=true", "logger=none", "callbacks.best_checkpoint=null"))
    assert metrics["test/checkpoint"] == "last weights" and "test/loss_rec" in metrics


@pytest.mark.parametrize("model", MODELS)
def test_every_family_clips_gradients_with_one_option(make_cfg, model):
    """model.gradient_clip_val clips every update of every family (the norm seen by the optimizer): the
    same seeded run without it steps with a first norm above the limit, and with it at the limit."""
    norms = {}
    for clip in ("null", "0.01"):
        helpers.GradNorms.norms = []
        train(make_cfg(f"model={model}", f"model.gradient_clip_val={clip}", "callbacks=none", "logger=none",
                       "+callbacks.norms._target_=helpers.GradNorms", "max_batches=3"))
        norms[clip] = list(helpers.GradNorms.norms)
    assert norms["null"][0] > 0.01 * 10  # the first update, unclipped: well above the limit
    assert norms["0.01"][0] == pytest.approx(0.01, rel=1e-3)  # the same update, scaled down to it
    assert max(norms["0.01"]) <= 0.01 * (1 + 1e-4) and len(norms["0.01"]) == len(norms["null"])


def test_trainer_gradient_clip_val_is_a_clear_error(make_cfg):
    with pytest.raises(ValueError, match="use model.gradient_clip_val"):
        train(make_cfg("+trainer.gradient_clip_val=1.0"))


def test_joint_head_features_do_not_see_the_target_label(make_cfg):
    """The report's classifier must infer the expression from images: with the stage-1 output fixed,
    the features its head reads are the same whatever the one-hot (the label cannot leak in)."""
    import hydra.utils
    module = hydra.utils.instantiate(make_cfg("model=joint").model).eval()  # model.refiner.condition=tile fails
    source, coarse = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        a = module.refiner.refine(source, coarse, torch.eye(6)[[0, 1]])[1][module.cls_level]
        b = module.refiner.refine(source, coarse, torch.eye(6)[[4, 5]])[1][module.cls_level]
    assert torch.equal(a, b)
