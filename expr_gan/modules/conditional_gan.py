"""Family 4, the conditional GAN: the report's DCGAN and its successors (pix2pix, StarGAN, GANimation).

G(source, onehot) -> edited image, no noise. Manual optimisation: per batch, `iters_per_batch` times
(the report's "train on one batch 8-16 times"), `d_steps` discriminator updates then `g_steps`
generator updates (the latter only on every `g_every_n_batches`-th batch: StarGAN's n_critic), each a
named phase. Which losses act is configuration:

  D: adversarial (bce | lsgan | hinge | wgan + lambda_gp gradient penalty) on real vs generated,
     + lambda_cls * expression CE of D's auxiliary head on real images (and on fakes if d_cls_on_fake).
  G: lambda_adv * adversarial + lambda_rec * reconstruction of the true target (paired; the aligned
     target when the datamodule provides one; high-passed with `highpass`) + lambda_cls * CE of D's head on fakes
     + lambda_expr * CE of a separately trained expression critic (never the judge) on the output
     + lambda_change * L1 inside the region where the target differs from the source
       (`rec_target=composite`: the reconstruction's target is the true target inside that region and the
       source outside it, so the unchanged face is asked to be a copy rather than a repaint;
       `relight`: the target relit like the source and the region found in one light and softness,
       losses/pixel_terms.py relit_change)
     + lambda_cyc * L1 of G(G(x, c_t), c_s) to x (cycle) + lambda_mask * mean(1 - mask)
     + lambda_mask_binary * mean(mask * (1 - mask)) (a mask of 0s and 1s: no half-blended features)
     + lambda_tv * total variation of the mask (attention generators)
     + lambda_mask_region * L1 of the painted area (1 - mask) to the changed region (the mask told where
       the expression changed, instead of finding it through the pixels)
     + lambda_grad * gradient difference to the reconstruction target (edges, not only colours)
     + lambda_fm * L1 between D's feature maps of the output and of the (aligned) target (pix2pixHD's
       feature matching: a perceptual loss that follows what D looks at, instead of pixels).

D sees (image, source, onehot) and uses what it is built to use (the report's D ignores both).
`d_real` is what D learns as real: `target` (the aligned target when the datamodule provides one),
`photo` (the target photo as captured, never resampled: with eye-aligned targets, D would otherwise
learn resampling blur as "real" and teach G to blur; pair it with a D that does not see the source,
whose pose the photo does not share), `composite` (the reconstruction target of `rec_target=composite`:
the source, with the target pasted where it changed; what a perfect attention generator outputs, so D
cannot tell real from fake by the lighting or the softness of the unchanged face) or `source` (the
real source with its own label: StarGAN).
`ema_decay > 0` keeps an exponential moving average of G, used for validation, grids and export.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from expr_gan.losses.adversarial import gradient_penalty
from expr_gan.losses.pixel_terms import (changed_region, gradient_difference, high_pass, paste, relit_change,
                                         total_variation)
from expr_gan.modules.base import ExpressionEditModule


class ConditionalGANModule(ExpressionEditModule):
    """The conditional GAN family; see the module docstring for the losses."""

    uses_aligned_targets = True  # pixel losses and D's real images use them when the data provides them

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: nn.Module, gan_loss: nn.Module,
                 optimizer=None, d_optimizer=None, scheduler=None, lambda_rec: float = 1.0, lambda_adv: float = 1.0,
                 lambda_cls: float = 1.0, lambda_cyc: float = 0.0, lambda_gp: float = 10.0, lambda_mask: float = 0.0,
                 lambda_tv: float = 0.0, lambda_change: float = 0.0, change_threshold: float = 0.08, highpass: int = 0,
                 lambda_mask_binary: float = 0.0, lambda_fm: float = 0.0, rec_target: str = "target",
                 lambda_mask_region: float = 0.0, lambda_grad: float = 0.0, relight: bool = False,
                 critic: nn.Module | None = None, lambda_expr: float = 0.0, d_cls_on_fake: bool = False, d_real: str = "target", d_steps: int = 1,
                 g_steps: int = 1, iters_per_batch: int = 1, g_every_n_batches: int = 1, gradient_clip_val: float | None = None,
                 ema_decay: float = 0.0, grid_every_n_epochs: int = 1, on_nonfinite: str = "stop"):
        super().__init__(optimizer, grid_every_n_epochs, gradient_clip_val, on_nonfinite, scheduler)
        if min(d_steps, g_steps) < 0 or iters_per_batch < 1:
            raise ValueError("model.d_steps and model.g_steps must be >= 0 and model.iters_per_batch >= 1")
        if d_real not in ("target", "photo", "composite", "source"):
            raise ValueError(f"model.d_real={d_real!r}: expected target, photo, composite or source")
        self.generator, self.discriminator, self.rec_loss, self.gan_loss = generator, discriminator, loss, gan_loss
        self.d_optimizer_factory = d_optimizer or optimizer
        self.lambda_rec, self.lambda_adv, self.lambda_cls, self.lambda_cyc = lambda_rec, lambda_adv, lambda_cls, lambda_cyc
        self.lambda_gp, self.lambda_mask, self.lambda_tv = lambda_gp, lambda_mask, lambda_tv
        self.lambda_mask_binary, self.lambda_fm = lambda_mask_binary, lambda_fm
        self.lambda_mask_region, self.lambda_grad = lambda_mask_region, lambda_grad
        if lambda_fm > 0 and not hasattr(discriminator, "feature_maps"):
            raise ValueError(f"model.lambda_fm={lambda_fm}: {type(discriminator).__name__} has no feature_maps")
        self.lambda_change, self.change_threshold = lambda_change, change_threshold
        if rec_target not in ("target", "composite"):
            raise ValueError(f"model.rec_target={rec_target!r}: expected target or composite")
        self.rec_target, self.relight = rec_target, relight
        if highpass and (highpass < 3 or highpass % 2 == 0):
            raise ValueError(f"model.highpass={highpass}: expected 0 (off) or an odd size >= 3")
        self.highpass = highpass
        self.critic, self.lambda_expr = critic, lambda_expr
        self.d_cls_on_fake, self.d_real = d_cls_on_fake, d_real
        self.d_steps, self.g_steps, self.iters_per_batch = d_steps, g_steps, iters_per_batch
        self.g_every_n_batches = g_every_n_batches
        self.ema_decay = ema_decay
        self.generator_ema = copy.deepcopy(generator).requires_grad_(False) if ema_decay > 0 else None
        self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    # ---- generator views ------------------------------------------------------------------------
    def _generate(self, net: nn.Module, source: torch.Tensor, onehot: torch.Tensor):
        """(image, mask or None) from any generator."""
        if hasattr(net, "forward_with_mask"):  # attention generators: the mask too, through __call__
            return net(source, onehot, with_mask=True)
        return net(source, onehot), None

    def translate(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self._generate(self.generator_ema or self.generator, source, onehot)[0]

    def grid_extra_rows(self, source, onehot):
        mask = self._generate(self.generator_ema or self.generator, source, onehot)[1]
        if mask is None:
            return []
        pixels = self.trainer.datamodule.pixels  # masks are shown as images: white = input kept
        return [pixels.encode(mask.expand(-1, source.shape[1], -1, -1) * 255)]

    def double_backward_networks(self) -> list[str]:
        """Sub-networks whose gradients are differentiated (WGAN-GP's D): expr_gan.speed leaves them uncompiled."""
        return ["discriminator"] if self.gan_loss.mode == "wgan" and self.lambda_gp > 0 else []

    # ---- phases -------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        if self.critic is not None and self.lambda_expr > 0:
            self.critic.prepare(self.trainer.datamodule)

    def _real(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(real image, its one-hot, its expression) shown to D."""
        if self.d_real == "source":
            e = batch["source_expr"]
            return batch["source"], F.one_hot(e, batch["target_onehot"].shape[1]).to(batch["source"].dtype), e
        if self.d_real == "composite":
            changed, target = self.edit_targets(batch)
            real = paste(batch["source"], target, changed)
        else:
            real = batch["target"] if self.d_real == "photo" else batch.get("target_aligned", batch["target"])
        return real, batch["target_onehot"], batch["target_expr"]

    def discriminator_losses(self, batch: dict) -> dict:
        """D: real images are real, generated ones fake; optional gradient penalty and expression head."""
        source, onehot = batch["source"], batch["target_onehot"]
        with torch.no_grad():
            fake = self._generate(self.generator, source, onehot)[0]
        real, real_onehot, real_expr = self._real(batch)
        real_logits, real_cls = self.discriminator(real, source, real_onehot)
        fake_logits, fake_cls = self.discriminator(fake, source, onehot)
        losses = {"loss_real": self.gan_loss(real_logits, True), "loss_fake": self.gan_loss(fake_logits, False)}
        if self.gan_loss.mode == "wgan" and self.lambda_gp > 0:
            losses["loss_gp"] = self.lambda_gp * gradient_penalty(self.discriminator, real, fake, source, onehot)
        if real_cls is not None and self.lambda_cls > 0:
            cls = F.cross_entropy(real_cls, real_expr)
            if self.d_cls_on_fake:
                cls = (cls + F.cross_entropy(fake_cls, batch["target_expr"])) / 2
            losses["loss_cls"] = self.lambda_cls * cls
        return losses

    def generator_losses(self, batch: dict) -> dict:
        """G: fool D, reconstruct the (aligned) target, show the target expression, cycle back, sparse masks."""
        source, onehot = batch["source"], batch["target_onehot"]
        fake, mask = self._generate(self.generator, source, onehot)
        fake_logits, fake_cls = self.discriminator(fake, source, onehot)
        losses = {"loss_adv": self.lambda_adv * self.gan_loss(fake_logits, True, for_discriminator=False)}
        needs_region = self.rec_target == "composite" or self.lambda_change > 0 or self.lambda_mask_region > 0
        changed, edit_target = self.edit_targets(batch, needs_region)  # once per step
        if self.lambda_rec > 0 or self.lambda_grad > 0:
            target = self.reconstruction_target(batch, changed, edit_target)
            if self.lambda_rec > 0:
                losses["loss_rec"] = self.lambda_rec * self.rec_loss(self.pixel_view(fake), self.pixel_view(target))
            if self.lambda_grad > 0:
                losses["loss_grad"] = self.lambda_grad * gradient_difference(fake, target)
        if fake_cls is not None and self.lambda_cls > 0:
            losses["loss_cls"] = self.lambda_cls * F.cross_entropy(fake_cls, batch["target_expr"])
        if self.critic is not None and self.lambda_expr > 0:
            fake01 = self.trainer.datamodule.pixels.decode(fake)
            losses["loss_expr"] = self.lambda_expr * self.critic(fake01, batch["target_expr"])
        if self.lambda_change > 0:
            losses["loss_change"] = self.lambda_change * self.change_loss(fake, source, batch, changed, edit_target)
        if self.lambda_cyc > 0:
            back = F.one_hot(batch["source_expr"], onehot.shape[1]).to(onehot.dtype)
            losses["loss_cyc"] = self.lambda_cyc * (self._generate(self.generator, fake, back)[0] - source).abs().mean()
        if mask is not None and self.lambda_mask > 0:
            losses["loss_mask"] = self.lambda_mask * (1 - mask).mean()
        if mask is not None and self.lambda_mask_binary > 0:
            losses["loss_mask_binary"] = self.lambda_mask_binary * (mask * (1 - mask)).mean()
        if mask is not None and self.lambda_mask_region > 0:  # paint (1 - mask) exactly where the target changed
            losses["loss_mask_region"] = self.lambda_mask_region * ((1 - mask) - changed).abs().mean()
        if mask is not None and self.lambda_tv > 0:
            losses["loss_tv"] = self.lambda_tv * total_variation(mask)
        if self.lambda_fm > 0:
            real = batch.get("target_aligned", batch["target"])
            with torch.no_grad():
                real_maps = self.discriminator.feature_maps(real, source, onehot)
            fake_maps = self.discriminator.feature_maps(fake, source, onehot)
            losses["loss_fm"] = self.lambda_fm * sum((f - r).abs().mean() for f, r in zip(fake_maps, real_maps)) / len(fake_maps)
        return losses

    def pixel_view(self, x: torch.Tensor) -> torch.Tensor:
        """What the pixel losses compare: the image, or with `highpass` > 0 the image minus its local mean
        over `highpass` px. Captures of one person differ in lighting (a gradient drawn per capture),
        which no model can predict from the source: a plain L1 to the target then pays the model to
        repaint the whole face in the target's light, a blurred blend over the person."""
        return high_pass(x, self.highpass) if self.highpass else x

    def changed_region(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """[B, 1, H, W] of 0/1: where the target differs from the source (losses/pixel_terms.py)."""
        return changed_region(source, target, self.change_threshold)

    def edit_targets(self, batch: dict, need_region: bool = True) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(changed region or None, the target the pixel losses ask for): the (aligned) target and, when
        `need_region`, where it differs from the source; with `relight`, the target relit like the source
        and the region found again in that light (losses/pixel_terms.py relit_change)."""
        target = batch.get("target_aligned", batch["target"])
        if self.relight:
            return relit_change(batch["source"], target, self.change_threshold)
        return (self.changed_region(batch["source"], target) if need_region else None), target

    def reconstruction_target(self, batch: dict, changed: torch.Tensor | None = None,
                              target: torch.Tensor | None = None) -> torch.Tensor:
        """What loss_rec compares the output with: the (aligned) target, or with `rec_target=composite`
        the target inside the changed region and the source elsewhere. Captures differ in lighting,
        which nothing in the source predicts; asked for the target everywhere, an attention generator
        repaints the whole face a little (a grey mask: every edge of the person softened).
        `changed` and `target`: edit_targets' answer when the caller has it."""
        if target is None or (changed is None and self.rec_target == "composite"):
            changed, target = self.edit_targets(batch, self.rec_target == "composite")
        return target if self.rec_target == "target" else paste(batch["source"], target, changed)

    def change_loss(self, fake: torch.Tensor, source: torch.Tensor, batch: dict,
                    changed: torch.Tensor | None = None, target: torch.Tensor | None = None) -> torch.Tensor:
        """L1 to the (aligned) target inside the region where the target differs from the source.

        The expression lives in a few percent of the pixels, so a plain L1 is satisfied by copying the
        input; averaging over the changed region only makes the edit as important as the copy.
        """
        if target is None or changed is None:
            changed, target = self.edit_targets(batch)
        changed = changed.to(fake.dtype)
        error = (self.pixel_view(fake) - self.pixel_view(target)).abs()
        return (error * changed).sum() / (changed.sum() * fake.shape[1]).clamp_min(1.0)

    def _phase(self, optimizer, compute_losses, batch: dict, phase: str) -> dict:
        """One update of one network (`update`: check, backward, clipping, step); returns its losses.

        The other network is frozen from before the forward pass, so autograd neither records nor
        computes its weight gradients (freezing only around backward, as Lightning's toggled_optimizer
        is usually shown, still pays for them: the G phase cost 5-8 % more than a plain loop's).
        """
        other = self.discriminator if phase == "G" else self.generator
        other.requires_grad_(False)
        try:
            losses = compute_losses(batch)
            self.update(optimizer, losses, phase)
        finally:
            other.requires_grad_(True)
        return losses

    @torch.no_grad()
    def _update_ema(self) -> None:
        # warm-up: early on the average follows G closely, so short runs are not dominated by the init
        n = self.ema_updates.float()  # a tensor: no host sync on GPUs
        weight = 1 - torch.clamp((1 + n) / (10 + n), max=self.ema_decay)
        self.ema_updates += 1
        for ema, live in zip(self.generator_ema.parameters(), self.generator.parameters()):
            ema.lerp_(live, weight.to(ema.dtype))
        for ema, live in zip(self.generator_ema.buffers(), self.generator.buffers()):
            ema.copy_(live)

    def training_step(self, batch: dict, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        d_losses = g_losses = {}
        for _ in range(self.iters_per_batch):
            for _ in range(self.d_steps):
                d_losses = self._phase(opt_d, self.discriminator_losses, batch, "D")
            for _ in range(self.g_steps if batch_idx % self.g_every_n_batches == 0 else 0):
                g_losses = self._phase(opt_g, self.generator_losses, batch, "G")
                if self.generator_ema is not None:
                    self._update_ema()
        # the last phase of each network, once per batch (detached: no extra graph work)
        self.log_terms("train/D", d_losses, prog_bar=())
        self.log_terms("train/G", g_losses, prog_bar=("loss_rec", "loss_adv"))

    def eval_loss_rec(self, batch: dict) -> torch.Tensor:
        """val/loss_rec (the best-epoch monitor): loss_rec as G trains it, unweighted: the same target
        (the composite for ours, the aligned target otherwise) in the same pixel view."""
        fake = self.translate(batch["source"], batch["target_onehot"])
        return self.rec_loss(self.pixel_view(fake), self.pixel_view(self.reconstruction_target(batch)))

    def configure_optimizers(self):
        opt_g = self.make_optimizer(self.generator.parameters())
        opt_d = self.d_optimizer_factory(self.discriminator.parameters())
        return self.with_schedulers([opt_g, opt_d])
