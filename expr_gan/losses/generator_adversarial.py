"""G's terms that go through D (`model.g_terms`): fool it, show the target expression to its head,
match its features."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from expr_gan.losses.term import GeneratorStep, LossTerm


class FoolDiscriminator(LossTerm):
    """The adversarial objective for G: D should call its outputs real."""

    def forward(self, step: GeneratorStep):
        return step.gan_loss(step.fake_logits, True, for_discriminator=False)


class ExpressionHeadOnFake(LossTerm):
    """Cross-entropy of D's expression head on G's outputs against the target expression (StarGAN)."""

    requires = ("class_head",)

    def forward(self, step: GeneratorStep):
        return F.cross_entropy(step.fake_classes, step.batch.target_expr)


class FeatureMatching(LossTerm):
    """Mean L1 between D's feature maps of the output and of the (aligned) target (pix2pixHD): a
    perceptual loss that follows what D looks at, instead of pixels."""

    requires = ("feature_maps",)

    def forward(self, step: GeneratorStep):
        batch, features = step.batch, step.discriminator.feature_maps
        with torch.no_grad():
            real_maps = features(batch.aligned, batch.source, batch.onehot)
        fake_maps = features(step.fake, batch.source, batch.onehot)
        return sum((f - r).abs().mean() for f, r in zip(fake_maps, real_maps)) / len(fake_maps)
