"""GANLoss: one module for the adversarial objectives (after CycleGAN/pix2pix's GANLoss)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from expr_gan.errors import UsageError

GAN_MODES = ("bce", "lsgan", "hinge", "wgan")


class GANLoss(nn.Module):
    """Adversarial loss on discriminator logits (any shape: one per image or a patch map).

    `loss(logits, real=True)` for D on real and G on fakes, `loss(logits, real=False)` for D on fakes.
    `bce`: the original GAN; `lsgan`: least squares; `hinge`; `wgan`: the critic's mean (add a
    gradient penalty, see `gradient_penalty`). `label_smoothing` lowers the real target for D (bce, lsgan).
    """

    def __init__(self, mode: str = "bce", label_smoothing: float = 0.0):
        super().__init__()
        if mode not in GAN_MODES:
            raise UsageError(f"model.gan_loss.mode={mode!r}: expected one of {', '.join(GAN_MODES)}")
        self.mode, self.label_smoothing = mode, label_smoothing

    def forward(self, logits: torch.Tensor, real: bool, for_discriminator: bool = True) -> torch.Tensor:
        if self.mode in ("bce", "lsgan"):
            value = 1.0 - (self.label_smoothing if for_discriminator else 0.0) if real else 0.0
            target = torch.full_like(logits, value)
            if self.mode == "bce":
                return F.binary_cross_entropy_with_logits(logits, target)
            return F.mse_loss(logits, target)
        if self.mode == "hinge":
            if not for_discriminator:
                return -logits.mean()
            return F.relu(1 - logits).mean() if real else F.relu(1 + logits).mean()
        return -logits.mean() if real else logits.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *cond) -> torch.Tensor:
    """WGAN-GP: E[(||grad critic(x_hat)|| - 1)^2] on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(mixed, *cond)
    out = out[0] if isinstance(out, tuple) else out
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()
