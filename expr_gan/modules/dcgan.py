"""Family 4, the report's conditional DCGAN: image + one-hot in, no noise; manual optimisation."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from expr_gan.modules.base import ExpressionEditModule


class ConditionalGANModule(ExpressionEditModule):
    """G(source, onehot) -> target; D judges real target-expression images against G's outputs.

    Per batch, `iters_per_batch` times (the report's "train on one batch 8-16 times"): `d_steps`
    discriminator updates, then `g_steps` generator updates, each a named phase. Generator loss =
    lambda_rec * reconstruction + lambda_adv * adversarial (+ lambda_cls * expression CE when D has a
    classifier head). With `d_cls_on_fake` D's classifier also learns on generated images (the
    report's variant: "regardless of whether it is from the generator or from the dataset").
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: nn.Module, gan_loss: nn.Module,
                 optimizer=None, d_optimizer=None, scheduler=None, lambda_rec: float = 1.0, lambda_adv: float = 1.0,
                 lambda_cls: float = 1.0, d_cls_on_fake: bool = False, d_steps: int = 1, g_steps: int = 1,
                 iters_per_batch: int = 1, gradient_clip_val: float | None = None, grid_every_n_epochs: int = 1):
        super().__init__(optimizer, grid_every_n_epochs)
        if min(d_steps, g_steps, iters_per_batch) < 0 or iters_per_batch < 1:
            raise ValueError("model.d_steps and model.g_steps must be >= 0 and model.iters_per_batch >= 1")
        self.automatic_optimization = False
        self.generator, self.discriminator, self.rec_loss, self.gan_loss = generator, discriminator, loss, gan_loss
        self.d_optimizer_factory, self.scheduler_factory = d_optimizer or optimizer, scheduler
        self.lambda_rec, self.lambda_adv, self.lambda_cls = lambda_rec, lambda_adv, lambda_cls
        self.d_cls_on_fake = d_cls_on_fake
        self.d_steps, self.g_steps, self.iters_per_batch = d_steps, g_steps, iters_per_batch
        self.gradient_clip_val = gradient_clip_val

    def translate(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self.generator(source, onehot)

    # ---- phases -------------------------------------------------------------------------------
    def discriminator_losses(self, batch: dict) -> dict:
        """D: real target images are real, generated ones fake; optional expression classification."""
        with torch.no_grad():
            fake = self.generator(batch["source"], batch["target_onehot"])
        real_logits, real_cls = self.discriminator(batch["target"])
        fake_logits, fake_cls = self.discriminator(fake)
        losses = {"loss_real": self.gan_loss(real_logits, True), "loss_fake": self.gan_loss(fake_logits, False)}
        if real_cls is not None and self.lambda_cls > 0:
            cls = F.cross_entropy(real_cls, batch["target_expr"])
            if self.d_cls_on_fake:
                cls = (cls + F.cross_entropy(fake_cls, batch["target_expr"])) / 2
            losses["loss_cls"] = self.lambda_cls * cls
        return losses

    def generator_losses(self, batch: dict) -> dict:
        """G: reconstruct the true target, fool D, and (with a D classifier) show the target expression."""
        fake = self.generator(batch["source"], batch["target_onehot"])
        fake_logits, fake_cls = self.discriminator(fake)
        losses = {"loss_rec": self.lambda_rec * self.rec_loss(fake, batch["target"]),
                  "loss_adv": self.lambda_adv * self.gan_loss(fake_logits, True, for_discriminator=False)}
        if fake_cls is not None and self.lambda_cls > 0:
            losses["loss_cls"] = self.lambda_cls * F.cross_entropy(fake_cls, batch["target_expr"])
        return losses

    def _update(self, optimizer, losses: dict) -> None:
        with self.toggled_optimizer(optimizer):
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(sum(losses.values()))
            if self.gradient_clip_val:
                self.clip_gradients(optimizer, gradient_clip_val=self.gradient_clip_val, gradient_clip_algorithm="norm")
            optimizer.step()

    def training_step(self, batch: dict, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        d_losses = g_losses = {}
        for _ in range(self.iters_per_batch):
            for _ in range(self.d_steps):
                d_losses = self.discriminator_losses(batch)
                self._update(opt_d, d_losses)
            for _ in range(self.g_steps):
                g_losses = self.generator_losses(batch)
                self._update(opt_g, g_losses)
        # log the last phase of each network once per batch (detached: no extra graph work)
        for prefix, losses in (("train/D", d_losses), ("train/G", g_losses)):
            for name, value in losses.items():
                self.log(f"{prefix}/{name}", value.detach(), prog_bar=name == "loss_rec")

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers() or []:  # manual optimisation: schedulers step by hand
            scheduler.step()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        fake = self.generator(batch["source"], batch["target_onehot"])
        self.log("val/loss_rec", self.rec_loss(fake, batch["target"]), prog_bar=True)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        fake = self.generator(batch["source"], batch["target_onehot"])
        self.log("test/loss_rec", self.rec_loss(fake, batch["target"]))

    def configure_optimizers(self):
        opt_g = self.make_optimizer(self.generator.parameters())
        opt_d = self.d_optimizer_factory(self.discriminator.parameters())
        if self.scheduler_factory is None:
            return [opt_g, opt_d]
        return [opt_g, opt_d], [self.scheduler_factory(opt_g), self.scheduler_factory(opt_d)]
