"""D's terms (`model.d_terms`): tell real from generated, keep the critic Lipschitz, classify expressions."""
from __future__ import annotations

import torch.nn.functional as F

from expr_gan.losses.adversarial import gradient_penalty
from expr_gan.losses.term import DiscriminatorStep, LossTerm


class RealVsFake(LossTerm):
    """The adversarial objective for D: real images are real, G's outputs fake (parts `real`, `fake`)."""

    phase = "D"

    def forward(self, step: DiscriminatorStep) -> dict:
        return {"real": step.gan_loss(step.real_logits, True), "fake": step.gan_loss(step.fake_logits, False)}


class GradientPenalty(LossTerm):
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake
    images; StarGAN and GANimation use it with gan_loss.mode=wgan at weight 10."""

    phase = "D"

    def forward(self, step: DiscriminatorStep):
        batch = step.batch
        return gradient_penalty(step.discriminator, batch.real, step.fake, batch.source, batch.onehot)


class ExpressionHead(LossTerm):
    """Cross-entropy of D's expression head on the real images (StarGAN's domain classification, the
    report's auxiliary classifier); with `on_fake`, the mean with its cross-entropy on G's outputs
    against their target expression (the report's variant, AC-GAN style)."""

    phase = "D"
    requires = ("class_head",)

    def __init__(self, weight: float = 1.0, on_fake: bool = False):
        super().__init__(weight)
        self.on_fake = on_fake

    def forward(self, step: DiscriminatorStep):
        loss = F.cross_entropy(step.real_classes, step.batch.real_expr)
        if self.on_fake:
            loss = (loss + F.cross_entropy(step.fake_classes, step.batch.target_expr)) / 2
        return loss
