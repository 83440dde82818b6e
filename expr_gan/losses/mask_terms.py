"""G's terms on an attention generator's mask (`model.g_terms`; mask = 1 where the input is kept)."""
from __future__ import annotations

from expr_gan.imaging import total_variation
from expr_gan.losses.term import GeneratorStep, LossTerm


class MaskSparsity(LossTerm):
    """mean(1 - mask): paint as little as possible, keep the rest of the input (GANimation)."""

    requires = ("mask",)

    def forward(self, step: GeneratorStep):
        return (1 - step.mask).mean()


class BinaryMask(LossTerm):
    """mean(mask * (1 - mask)): a mask of 0s and 1s, so no feature is half blended (ghosted)."""

    requires = ("mask",)

    def forward(self, step: GeneratorStep):
        return (step.mask * (1 - step.mask)).mean()


class MaskOnChange(LossTerm):
    """L1 of the painted area (1 - mask) to the changed region: the mask told where the expression
    changed, instead of finding it through the pixels."""

    requires = ("mask",)
    needs_region = True

    def forward(self, step: GeneratorStep):
        return ((1 - step.mask) - step.batch.changed).abs().mean()


class MaskSmoothness(LossTerm):
    """Total variation of the mask: smooth masks (GANimation)."""

    requires = ("mask",)

    def forward(self, step: GeneratorStep):
        return total_variation(step.mask)
