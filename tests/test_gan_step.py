"""The GAN step computes G's forward once for D's update and G's when G is a pure function of its
input (modules/conditional_gan.py `pure_forward`), and trains exactly as with one forward per phase."""
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from expr_gan.modules import conditional_gan
from expr_gan.modules.conditional_gan import pure_forward
from expr_gan.commands.train import train

TINY_CRITIC = ["model.g_terms.expr.epochs=2", "model.g_terms.expr.width=8"]


def test_pure_forward_means_no_dropout_and_no_running_statistics():
    assert pure_forward(nn.Sequential(nn.Conv2d(3, 3, 3), nn.InstanceNorm2d(3, affine=True), nn.ReLU(), nn.Dropout(0.0)))
    assert not pure_forward(nn.Sequential(nn.Conv2d(3, 3, 3), nn.BatchNorm2d(3)))
    assert not pure_forward(nn.Sequential(nn.Conv2d(3, 3, 3), nn.Dropout(0.5)))
    assert not pure_forward(nn.InstanceNorm2d(3, track_running_stats=True))


@pytest.mark.parametrize("experiment,shares", [("ours_cpu", True), ("stargan_cpu", True), ("ganimation_cpu", True),
                                               ("pix2pix_cpu", False), ("paper_dcgan", False)])
def test_which_presets_share_g_forward(make_cfg, experiment, shares):
    """Instance-norm generators share it; pix2pix's (batch norm, dropout) and the report's (batch norm) do not."""
    assert instantiate(make_cfg(f"experiment={experiment}").model).shares_forward is shares


def _trained_state(make_cfg, monkeypatch, experiment: str, share: bool, name: str) -> dict:
    monkeypatch.setattr(conditional_gan, "pure_forward", lambda net: share)
    critic = TINY_CRITIC if experiment.startswith("ours") else []
    cfg = make_cfg(f"experiment={experiment}", *critic, "max_batches=6", "callbacks.eval_metrics=null",
                   "logger=none", "seed=3")
    cfg.paths.output_dir = str(Path(cfg.paths.output_dir).parent / name)
    train(cfg)
    return torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def test_a_shared_forward_trains_the_same_weights(make_cfg, monkeypatch):
    """ours for 6 batches with G's forward shared and with one forward per phase: every weight, EMA
    and buffer equal, bit for bit."""
    shared = _trained_state(make_cfg, monkeypatch, "ours_cpu", True, "shared")
    separate = _trained_state(make_cfg, monkeypatch, "ours_cpu", False, "separate")
    assert shared.keys() == separate.keys()
    assert [k for k in shared if not torch.equal(shared[k], separate[k])] == []


def test_sharing_a_batch_norm_generator_would_change_it(make_cfg, monkeypatch):
    """The positive control, and why such a G is not shared: its running statistics are updated once
    per batch instead of twice, so the comparison above can fail."""
    shared = _trained_state(make_cfg, monkeypatch, "paper_dcgan", True, "shared")
    separate = _trained_state(make_cfg, monkeypatch, "paper_dcgan", False, "separate")
    moved = [k for k in shared if not torch.equal(shared[k], separate[k])]
    assert any(k.startswith("generator.") and k.endswith("running_mean") for k in moved)
