"""EditTargets: from a batch of pairs, what the GAN's terms compare with and what D learns as real.

Computed once per batch (the D and G phases and every iteration of the batch share it):

- `target`: the target as the data gives it (eye-aligned when the datamodule aligns), or with
  `relight` the target relit like the source (imaging.py relit_change);
- `changed`: where the target differs from the source (`change_threshold`), found on high-passed
  images, or with `relight` in one light and softness;
- `rec_target`: what the reconstruction asks for: `target`, or `composite`: the target inside the
  changed region and the source elsewhere. Captures differ in lighting, which nothing in the source
  predicts; asked for the target everywhere, an attention generator repaints the whole face a
  little (a grey mask: every edge of the person softened);
- `real` (`d_real`): `target` (the aligned target), `photo` (the target as captured, never resampled:
  with eye-aligned targets D would otherwise learn resampling blur as "real"; pair it with a D that
  does not see the source, whose pose the photo does not share), `composite` (what a perfect
  attention generator outputs, so D cannot tell real from fake by the light or the softness of the
  unchanged face) or `source` (the real source with its own label: StarGAN).

`highpass` > 0 (odd): the pixel terms compare images minus their local mean over that many px
(`view`): captures of one person differ in lighting, which no model can predict from the source,
and a plain L1 to the target then pays the model to repaint the whole face in the target's light.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from expr_gan.errors import UsageError
from expr_gan.imaging import changed_region, high_pass, paste, relit_change
from expr_gan.losses.term import EditBatch

REC_TARGETS = ("target", "composite")
D_REALS = ("target", "photo", "composite", "source")


class EditTargets:
    """Settings of the edit targets (`model.targets`); calling it on a batch gives an EditBatch."""

    def __init__(self, rec_target: str = "target", relight: bool = False, change_threshold: float = 0.08,
                 highpass: int = 0, d_real: str = "target"):
        if rec_target not in REC_TARGETS:
            raise UsageError(f"model.targets.rec_target={rec_target!r}: expected target or composite")
        if d_real not in D_REALS:
            raise UsageError(f"model.targets.d_real={d_real!r}: expected target, photo, composite or source")
        if highpass and (highpass < 3 or highpass % 2 == 0):
            raise UsageError(f"model.targets.highpass={highpass}: expected 0 (off) or an odd size >= 3")
        self.rec_target, self.relight, self.change_threshold = rec_target, relight, change_threshold
        self.highpass, self.d_real = highpass, d_real

    def needs_region(self) -> bool:
        """Whether the targets themselves use the changed region (a composite for G or for D)."""
        return "composite" in (self.rec_target, self.d_real)

    def view(self, x: torch.Tensor) -> torch.Tensor:
        """What the pixel terms compare: the image, or with `highpass` the image minus its local mean."""
        return high_pass(x, self.highpass) if self.highpass else x

    def __call__(self, batch: dict, need_region: bool = True) -> EditBatch:
        """The batch's EditBatch; the changed region only when `need_region` (or `relight`, which finds it anyway)."""
        source, onehot = batch["source"], batch["target_onehot"]
        aligned = batch.get("target_aligned", batch["target"])
        if self.relight:
            changed, target = relit_change(source, aligned, self.change_threshold)
        else:
            changed = changed_region(source, aligned, self.change_threshold) if need_region else None
            target = aligned
        composite = paste(source, target, changed) if self.needs_region() else None
        rec_target = composite if self.rec_target == "composite" else target
        if self.d_real == "source":
            real_expr = batch["source_expr"]
            real, real_onehot = source, F.one_hot(real_expr, onehot.shape[1]).to(source.dtype)
        else:
            real = {"composite": composite, "photo": batch["target"], "target": aligned}[self.d_real]
            real_onehot, real_expr = onehot, batch["target_expr"]
        return EditBatch(source, onehot, batch["target_expr"], batch["source_expr"], aligned, target, changed,
                         rec_target, real, real_onehot, real_expr, batch.get("source_points"),
                         batch.get("target_points"))
