"""G's terms on the output's pixels (`model.g_terms`): the reconstruction, the changed region, edges, the cycle."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from expr_gan.imaging import gradient_difference
from expr_gan.losses.term import GeneratorStep, LossTerm


class Reconstruction(LossTerm):
    """`loss` (the `loss` group: L1, SmoothL1, MSE, ...) of the output to the reconstruction target
    (`model.targets.rec_target`: the aligned target or the composite), in the pixel view."""

    def __init__(self, loss: nn.Module, weight: float = 1.0):
        super().__init__(weight)
        self.loss = loss

    def forward(self, step: GeneratorStep):
        return self.loss(step.view(step.fake), step.view(step.batch.rec_target))


class GreyLevelReconstruction(Reconstruction):
    """`Reconstruction` measured in grey levels (0..255) whatever the pixel range: the output and its
    target go through the datamodule's pixel codec (`PixelRange.to_bytes`) first. With a plain SmoothL1
    it is the report's loss in its own units for standardised pixels too, so a run on standardised
    pixels differs from the [-1, 1] run (`loss=smoothl1_byte`, the same loss there) in the pixels only."""

    def prepare(self, datamodule, wiring_check: bool = False) -> None:
        """Keep the datamodule's pixel codec (fitted on its training images)."""
        self.pixels = datamodule.pixels

    def forward(self, step: GeneratorStep):
        return self.loss(self.pixels.to_bytes(step.view(step.fake)),
                         self.pixels.to_bytes(step.view(step.batch.rec_target)))


class ChangedRegionL1(LossTerm):
    """L1 to the target averaged over the region where the target differs from the source only.

    The expression lives in a few percent of the pixels, so a plain L1 is satisfied by copying the
    input; averaging over the changed region only makes the edit as important as the copy."""

    needs_region = True

    def forward(self, step: GeneratorStep):
        changed = step.batch.changed.to(step.fake.dtype)
        error = (step.view(step.fake) - step.view(step.batch.target)).abs()
        return (error * changed).sum() / (changed.sum() * step.fake.shape[1]).clamp_min(1.0)


class GradientDifference(LossTerm):
    """Mathieu et al.'s gradient difference to the reconstruction target: its edges, not only its colours
    (imaging.py gradient_difference)."""

    def forward(self, step: GeneratorStep):
        return gradient_difference(step.fake, step.batch.rec_target)


class Cycle(LossTerm):
    """L1 of G(G(x, c_t), c_s) to x: translated back to its own expression, the output is the source
    again (StarGAN's reconstruction, the unpaired substitute for a target)."""

    def forward(self, step: GeneratorStep):
        batch = step.batch
        back = F.one_hot(batch.source_expr, batch.onehot.shape[1]).to(batch.onehot.dtype)
        return (step.generate(step.fake, back)[0] - batch.source).abs().mean()
