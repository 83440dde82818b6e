"""Issue 7's components: eye alignment, U-Net / StarGAN / PatchGAN nets, GAN options, masks, EMA."""
import numpy as np
import pytest
import torch
from torch import nn

from expr_gan.data.align import align_to
from expr_gan.data.faces import render_face, sample_capture, sample_identity
from expr_gan.nets.patchgan import MultiScaleDiscriminator, PatchDiscriminator
from expr_gan.nets.stargan import StarGANDiscriminator, StarGANGenerator
from expr_gan.nets.unet import UNetGenerator
from expr_gan.commands.train import train
from test_families import SHORT


def count(m):
    return sum(p.numel() for p in m.parameters())


def test_eye_alignment_undoes_the_capture_pose():
    ident = sample_identity(0, 3)
    straight, eyes_straight = render_face(ident, "neutral", sample_capture(0, 3, 0, 0, "none"), 64)
    posed, eyes_posed = render_face(ident, "neutral", sample_capture(0, 3, 0, 7, "independent"), 64)
    to_t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
    aligned = align_to(to_t(posed), torch.from_numpy(eyes_straight)[None], torch.from_numpy(eyes_posed)[None])
    inner = (slice(None), slice(None), slice(12, 52), slice(12, 52))
    before = (to_t(posed) - to_t(straight))[inner].abs().mean()
    after = (aligned - to_t(straight))[inner].abs().mean()
    assert after < 0.5 * before and after < 0.04
    unknown = torch.full((1, 2, 2), float("nan"))
    assert torch.equal(align_to(to_t(posed), unknown, unknown), to_t(posed))


def test_datamodule_aligned_targets(tmp_path):
    from expr_gan.data.datamodule import FacePairsDataModule
    from expr_gan.data.synthetic import SyntheticFaces
    dm = FacePairsDataModule(SyntheticFaces(num_identities=6, size=32), size=32, cache_dir=tmp_path,
                             align_targets=True, flip=True, split_fractions=(0.5, 0.25, 0.25))
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    raw = (batch["source"] - batch["target"]).abs().mean()
    aligned = (batch["source"] - batch["target_aligned"]).abs().mean()
    assert aligned < raw


def test_stargan_reference_parameter_counts():
    assert round(count(StarGANGenerator(image_size=128, width=64, num_blocks=6)) / 1e6, 2) == 8.43
    assert round(count(StarGANDiscriminator(image_size=128, width=64)) / 1e6, 1) == 44.8


def test_attention_mask_generators_copy_where_the_mask_is_one():
    for net in (UNetGenerator(image_size=32, width=8, mask=True), StarGANGenerator(image_size=32, width=8, num_blocks=1, mask=True)):
        x, c = torch.randn(2, 3, 32, 32), torch.eye(6)[:2]
        out, mask = net.forward_with_mask(x, c)
        assert out.shape == x.shape and mask.shape == (2, 1, 32, 32) and ((mask >= 0) & (mask <= 1)).all()
        nn.init.constant_(net.out.conv.bias[-1:], 50.0)  # mask -> 1: the output is the input
        nn.init.zeros_(net.out.conv.weight)
        assert torch.allclose(net(x, c), x, atol=1e-5)


def test_patch_discriminators():
    x, s, c = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64), torch.eye(6)[:2]
    logits, cls = PatchDiscriminator(width=8, cond_label="projection", num_classes=6, spectral=True)(x, s, c)
    assert logits.shape == (2, 36) and cls.shape == (2, 6)
    d = PatchDiscriminator(width=8, cond_source=False, cond_label="projection", norm="none")
    assert not torch.allclose(d(x, None, c)[0], d(x, None, torch.eye(6)[2:4])[0])  # the label matters
    single_half = PatchDiscriminator(width=8)(x[..., ::2, ::2], s[..., ::2, ::2], c)[0].shape[1]
    logits, _ = MultiScaleDiscriminator(num_scales=2, width=8)(x, s, c)
    assert logits.shape == (2, 36 + single_half)
    assert any("parametrizations" in n for n, _ in PatchDiscriminator(width=8, spectral=True).named_parameters())


@pytest.mark.parametrize("mode", ["bce", "lsgan", "hinge", "wgan"])
def test_every_adversarial_loss_trains(make_cfg, mode):
    gp = ["+d_term@model.d_terms.gp=gradient_penalty"] if mode == "wgan" else []
    metrics = train(make_cfg("model=dcgan", f"model.gan_loss.mode={mode}", *gp, *SHORT))
    assert np.isfinite(metrics["train/D/adv_real"]) and np.isfinite(metrics["train/G/adv"])
    assert ("train/D/gp" in metrics) == (mode == "wgan")


def test_successor_losses_are_logged(make_cfg):
    metrics = train(make_cfg("experiment=ganimation_cpu", "debug=tiny", *SHORT, "model.g_every_n_batches=1"))
    for key in ("train/G/cyc", "train/G/cls", "train/G/mask", "train/G/tv", "train/D/cls", "train/D/gp"):
        assert np.isfinite(metrics[key]) and metrics[key] >= 0, key  # each term is a distance or a penalty
    # an untrained generator neither cycles back exactly nor paints a smooth, empty mask
    assert metrics["train/G/cyc"] > 0 and metrics["train/G/tv"] > 0 and metrics["train/G/cls"] > 0


LOGITS = torch.tensor([2.0, -1.0])


@pytest.mark.parametrize("mode, d_real, d_fake, g", [
    ("bce", float(torch.nn.functional.softplus(-LOGITS).mean()), float(torch.nn.functional.softplus(LOGITS).mean()),
     float(torch.nn.functional.softplus(-LOGITS).mean())),
    ("lsgan", (1 + 4) / 2, (4 + 1) / 2, (1 + 4) / 2),  # (x - 1)^2 and x^2
    ("hinge", (0 + 2) / 2, (3 + 0) / 2, -0.5),          # relu(1 - x), relu(1 + x), -x
    ("wgan", -0.5, 0.5, -0.5),                          # -x for real, x for fake
])
def test_gan_losses_have_their_textbook_values_and_signs(mode, d_real, d_fake, g):
    """Known values on logits (2, -1), and the direction each loss pushes logits in (0, 1), where no
    loss is satisfied yet (LSGAN's targets are 1 and 0, hinge's margins +-1): D raises real logits and
    lowers fake ones, G raises the logits of its fakes (a sign error anywhere fails here)."""
    from expr_gan.losses.adversarial import GANLoss

    loss = GANLoss(mode)
    assert float(loss(LOGITS, True)) == pytest.approx(d_real)
    assert float(loss(LOGITS, False)) == pytest.approx(d_fake)
    assert float(loss(LOGITS, True, for_discriminator=False)) == pytest.approx(g)
    for real, for_d, direction in ((True, True, -1), (False, True, 1), (True, False, -1)):
        x = torch.tensor([0.25, 0.75], requires_grad=True)
        (grad,) = torch.autograd.grad(loss(x, real, for_discriminator=for_d), x)
        assert (torch.sign(grad) * direction >= 0).all() and grad.abs().sum() > 0, (real, for_d, grad)
    if mode == "bce":  # label smoothing lowers D's real target only
        smoothed = GANLoss("bce", label_smoothing=0.1)
        target = torch.full_like(LOGITS, 0.9)
        assert float(smoothed(LOGITS, True)) == pytest.approx(
            float(torch.nn.functional.binary_cross_entropy_with_logits(LOGITS, target)))
        assert float(smoothed(LOGITS, True, for_discriminator=False)) == pytest.approx(g)


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic_and_grows_with_the_norm():
    from expr_gan.losses.adversarial import gradient_penalty

    real, fake = torch.rand(4, 1, 2, 2), torch.rand(4, 1, 2, 2)
    for scale, expected in ((1.0, 0.0), (2.0, 1.0), (3.0, 4.0)):  # (||grad|| - 1)^2 of a linear critic
        w = torch.full((1, 1, 2, 2), scale / 2)  # ||w|| = scale
        critic = lambda x, w=w: (x * w).flatten(1).sum(1)
        assert float(gradient_penalty(critic, real, fake)) == pytest.approx(expected, abs=1e-6)


def test_mask_rows_in_the_grid_and_ema(make_cfg):
    from pathlib import Path
    from PIL import Image
    from expr_gan.checkpoint import build_module, load_checkpoint
    cfg = make_cfg("experiment=ours_cpu", "debug=tiny", "trainer.max_epochs=1", "logger=none",
                   "data.num_samples=1", "callbacks.eval_metrics=null")
    train(cfg)
    grid = Image.open(Path(cfg.paths.output_dir) / "samples" / "epoch_0000.png")
    assert grid.size == (7 * 34 + 2, 3 * 34 + 2)  # output row, mask row, truth row
    module = build_module(load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"))
    live = dict(module.generator.named_parameters())
    assert any(not torch.equal(p, live[n]) for n, p in module.generator_ema.named_parameters())


def test_g_every_n_batches(make_cfg):
    from test_families import StepRecorder
    import hydra.utils
    cfg = make_cfg("model=dcgan", "model.g_every_n_batches=3", "callbacks=none", "logger=none", "trainer.max_epochs=1",
                   "+trainer.limit_train_batches=7", "+trainer.limit_val_batches=0")
    recorder = StepRecorder()
    dm = hydra.utils.instantiate(cfg.data, pixels=hydra.utils.instantiate(cfg.pixels))
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=[recorder], logger=False, enable_progress_bar=False)
    trainer.fit(hydra.utils.instantiate(cfg.model), datamodule=dm)
    assert recorder.steps == {"D": 7, "G": 3}  # batches 0, 3, 6
