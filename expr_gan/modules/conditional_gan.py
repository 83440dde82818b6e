"""Family 4, the conditional GAN: the report's DCGAN and its successors (pix2pix, StarGAN, GANimation) and ours.

G(source, onehot) -> edited image, no noise. Which losses act is configuration: two named collections
of loss terms (expr_gan/losses/*_terms.py), `model.d_terms` and `model.g_terms`, each summed as
`weight * term` in the order listed; `model.targets` (losses/edit_targets.py) says what the pixel
terms compare with and what D learns as real. Every experiment YAML lists the terms it uses.

One training step, per batch (manual optimisation, read top to bottom in `training_step`):
  1. the edit targets, once (`EditBatch`: targets, changed region, D's real images);
  2. `iters_per_batch` times (the report's "train on one batch 8-16 times"): `d_steps` D updates,
     then `g_steps` G updates on every `g_every_n_batches`-th batch (StarGAN's n_critic), each followed
     by the EMA of G when `ema_decay` > 0 (used for validation, grids and export);
  3. the last update's terms logged raw (`train/D/adv`, `train/G/rec`, ...) with the weighted `total`.
A skipped update (`on_nonfinite=skip`) ends the batch: nothing that depends on it runs.

G's forward is shared by an iteration's D updates and its first G update when G is a pure function
of its input (`pure_forward`: no dropout, no running statistics, as ours' instance-norm U-Net): G does
not change between them, so the output D learns from is the one G then learns through, computed
once (about a tenth of ours' step). A network with batch norm or dropout is run in each phase, so it
sees the calls (and the random draws) it always did.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager

import torch
from torch import nn

from expr_gan.errors import UsageError
from expr_gan.losses.edit_targets import EditTargets
from expr_gan.losses.term import DiscriminatorStep, Generated, GeneratorStep, check_terms, weighted_sum
from expr_gan.modules.base import ExpressionEditModule


def pure_forward(net: nn.Module) -> bool:
    """Whether `net`'s training-mode forward is a pure function of its input and weights: no dropout
    and no running statistics (batch norm updates them on every call), so two calls give the same
    output and leave the same state as one."""
    for module in net.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            return False
        if isinstance(module, nn.modules.batchnorm._NormBase) and module.track_running_stats:
            return False
    return True


class ConditionalGANModule(ExpressionEditModule):
    """The conditional GAN family; see the module docstring."""

    uses_aligned_targets = True  # pixel terms and D's real images use them when the data provides them

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: nn.Module, gan_loss: nn.Module,
                 g_terms: dict, d_terms: dict, targets: EditTargets | None = None, optimizer=None,
                 d_optimizer=None, scheduler=None, d_steps: int = 1, g_steps: int = 1, iters_per_batch: int = 1,
                 g_every_n_batches: int = 1, gradient_clip_val: float | None = None, ema_decay: float = 0.0,
                 grid_every_n_epochs: int = 1, on_nonfinite: str = "stop"):
        super().__init__(optimizer, grid_every_n_epochs, gradient_clip_val, on_nonfinite, scheduler)
        if min(d_steps, g_steps) < 0 or iters_per_batch < 1 or g_every_n_batches < 1:
            raise UsageError("model.d_steps and model.g_steps must be >= 0, model.iters_per_batch and "
                             "model.g_every_n_batches >= 1")
        self.generator, self.discriminator, self.gan_loss = generator, discriminator, gan_loss
        self.rec_loss = loss  # val/loss_rec: the `loss` group's value against the reconstruction target
        self.targets = targets or EditTargets()
        self.g_terms = nn.ModuleDict(check_terms(g_terms, "G", generator, discriminator))
        self.d_terms = nn.ModuleDict(check_terms(d_terms, "D", generator, discriminator))
        self.needs_region = self.targets.needs_region() or any(t.needs_region for t in self.g_terms.values())
        # batches carry the renderer's named points (data/face_points.py) when a term reads them
        self.uses_points = any(t.needs_points for t in self.g_terms.values())
        self.d_optimizer_factory = d_optimizer or optimizer
        self.d_steps, self.g_steps, self.iters_per_batch = d_steps, g_steps, iters_per_batch
        self.g_every_n_batches = g_every_n_batches
        self.ema_decay = ema_decay
        self.generator_ema = copy.deepcopy(generator).requires_grad_(False) if ema_decay > 0 else None
        self.shares_forward = pure_forward(generator)
        self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    # ---- generator views ------------------------------------------------------------------------
    def generate(self, net: nn.Module, source: torch.Tensor, onehot: torch.Tensor) -> Generated:
        """(image, mask or None, parts) from any generator; parts: a warping generator's flow and
        warped input (nets/warp.py), empty for the others."""
        if hasattr(net, "forward_parts"):  # warping generators: everything their terms read, through __call__
            parts = net(source, onehot, with_parts=True)
            return Generated(parts["image"], parts["mask"], parts)
        if hasattr(net, "forward_with_mask"):  # attention generators: the mask too, through __call__
            return Generated(*net(source, onehot, with_mask=True), {})
        return Generated(net(source, onehot), None, {})

    def translate_with_flow(self, source: torch.Tensor, onehot: torch.Tensor):
        """(image, flow or None): the edit and, from a warping generator, the flow that moved the input's
        pixels (photo/edit.py moves a photograph's own pixels with it)."""
        image, _, parts = self.generate(self.generator_ema or self.generator, source, onehot)
        return image, parts.get("flow")

    def translate(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self.generate(self.generator_ema or self.generator, source, onehot)[0]

    def grid_extra_rows(self, source, onehot):
        """The attention mask (white = input kept) and, from a warping generator, the input as the flow
        alone moves it (what carries to a photograph)."""
        _, mask, parts = self.generate(self.generator_ema or self.generator, source, onehot)
        if mask is None:
            return []
        pixels = self.trainer.datamodule.pixels  # masks are shown as images
        rows = [pixels.encode(mask.expand(-1, source.shape[1], -1, -1) * 255)]
        return rows + ([parts["warped"]] if "warped" in parts else [])

    def double_backward_networks(self) -> list[str]:
        """Sub-networks whose gradients are differentiated (a gradient penalty's D): expr_gan.speed
        leaves them uncompiled."""
        from expr_gan.losses.discriminator_terms import GradientPenalty

        return ["discriminator"] if any(isinstance(t, GradientPenalty) for t in self.d_terms.values()) else []

    def terms(self) -> dict:
        """Every acting term, as `G/<name>` and `D/<name>`."""
        return {**{f"G/{k}": t for k, t in self.g_terms.items()}, **{f"D/{k}": t for k, t in self.d_terms.items()}}

    def on_fit_start(self) -> None:
        for term in self.terms().values():
            term.prepare(self.trainer.datamodule, wiring_check=bool(self.trainer.fast_dev_run))

    # ---- the two phases -------------------------------------------------------------------------
    def discriminator_step(self, batch, shared=None) -> DiscriminatorStep:
        """D's outputs on its real images and on G's output (generated without gradients, or `shared`:
        G's (image, mask) of this iteration, computed once for D and G)."""
        if shared is not None:
            fake = shared[0].detach()
        else:
            with torch.no_grad():
                fake = self.generate(self.generator, batch.source, batch.onehot)[0]
        real_logits, real_classes = self.discriminator(batch.real, batch.source, batch.real_onehot)
        fake_logits, fake_classes = self.discriminator(fake, batch.source, batch.onehot)
        return DiscriminatorStep(batch, fake, real_logits, real_classes, fake_logits, fake_classes, self.gan_loss,
                                 self.discriminator)

    def generator_step(self, batch, shared=None) -> GeneratorStep:
        """G's output and mask (`shared`: already computed this iteration, with its graph), and D's view of it."""
        fake, mask, parts = shared if shared is not None else self.generate(self.generator, batch.source, batch.onehot)
        fake_logits, fake_classes = self.discriminator(fake, batch.source, batch.onehot)
        return GeneratorStep(batch, fake, mask, fake_logits, fake_classes, self.gan_loss, self.discriminator,
                             lambda image, onehot: self.generate(self.generator, image, onehot), self.targets.view,
                             self.decode_pixels, parts)

    def decode_pixels(self, x: torch.Tensor) -> torch.Tensor:
        """Network pixels -> [0, 1], with the datamodule's pixel codec (for terms that judge images)."""
        return self.trainer.datamodule.pixels.decode(x)

    @contextmanager
    def frozen(self, net: nn.Module):
        """`net` without weight gradients from before the forward pass: autograd neither records nor
        computes them (freezing only around backward, as Lightning's toggled_optimizer is usually
        shown, still pays for them: the G phase cost 5-8 % more than a plain loop's)."""
        net.requires_grad_(False)
        try:
            yield
        finally:
            net.requires_grad_(True)

    def phase(self, name: str, batch, optimizer, shared=None, update=None) -> tuple[dict, torch.Tensor, bool]:
        """One update of D or G on its terms: (raw values, total, whether the update was made).
        `update(optimizer, weighted terms, phase, total) -> bool` makes the step (self.update by default)."""
        terms, other = (self.d_terms, self.generator) if name == "D" else (self.g_terms, self.discriminator)
        with self.frozen(other):
            step = self.discriminator_step(batch, shared) if name == "D" else self.generator_step(batch, shared)
            raw, weighted, total = weighted_sum(terms, step)
            updated = (update or self.update)(optimizer, weighted, name, total)
        return raw, total, updated

    def training_step(self, batch: dict, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        self.log_phases(self.gan_step(batch, batch_idx, opt_g, opt_d, self.update))

    def gan_step(self, batch: dict, batch_idx: int, opt_g, opt_d, update) -> dict:
        """One batch of the solver's phases; returns each phase's last (raw terms, total) to log.
        `update` makes an optimizer step (self.update: Lightning's backward and clipping; the bench's
        plain loop passes one written with plain PyTorch, so both time this same step)."""
        edit = self.targets(batch, self.needs_region)  # 1. what both phases need, once per batch
        trains_g = batch_idx % self.g_every_n_batches == 0
        logged: dict = {}
        g_steps = self.g_steps if trains_g else 0
        for _ in range(self.iters_per_batch):
            # G's output, once for the D updates and the first G update (G does not change in between)
            shared = self.generate(self.generator, edit.source, edit.onehot) \
                if self.shares_forward and self.d_steps and g_steps else None
            for _ in range(self.d_steps):  # 2. D learns real from generated
                raw, total, updated = self.phase("D", edit, opt_d, shared, update)
                logged["D"] = raw, total
                if not updated:  # skipped: G would learn from a D that did not move
                    return logged
            for g_step in range(g_steps):  # 3. G learns from D and the targets
                raw, total, updated = self.phase("G", edit, opt_g, shared if g_step == 0 else None, update)
                logged["G"] = raw, total
                if not updated:  # skipped: the EMA and later updates would follow a G that did not move
                    return logged
                if self.generator_ema is not None:  # 4. the average follows G
                    self.update_ema()
        return logged

    def log_phases(self, logged: dict) -> None:
        """The last update's raw terms and total of each phase, once per batch (detached)."""
        for name, (raw, total) in logged.items():
            self.log_terms(f"train/{name}", {**raw, "total": total}, prog_bar=("rec", "adv") if name == "G" else ())

    @torch.no_grad()
    def update_ema(self) -> None:
        """Move the EMA of G towards G (warm-up: early on it follows G closely, so short runs are not
        dominated by the initial weights)."""
        n = self.ema_updates.float()  # a tensor: no host sync on GPUs
        weight = 1 - torch.clamp((1 + n) / (10 + n), max=self.ema_decay)
        self.ema_updates += 1
        for ema, live in zip(self.generator_ema.parameters(), self.generator.parameters()):
            ema.lerp_(live, weight.to(ema.dtype))
        for ema, live in zip(self.generator_ema.buffers(), self.generator.buffers()):
            ema.copy_(live)

    def reconstruction_target(self, batch: dict) -> torch.Tensor:
        """What the reconstruction compares the output with (`model.targets.rec_target`)."""
        return self.targets(batch, self.targets.rec_target == "composite").rec_target

    def eval_loss_rec(self, batch: dict) -> torch.Tensor:
        """val/loss_rec (the best-epoch monitor): the reconstruction as G trains it, unweighted: the same
        target (the composite for ours, the aligned target otherwise) in the same pixel view."""
        fake, view = self.translate(batch["source"], batch["target_onehot"]), self.targets.view
        return self.rec_loss(view(fake), view(self.reconstruction_target(batch)))

    def configure_optimizers(self):
        opt_g = self.make_optimizer(self.generator.parameters())
        opt_d = self.d_optimizer_factory(self.discriminator.parameters())
        return self.with_schedulers([opt_g, opt_d])
