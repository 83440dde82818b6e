"""G's terms on a warping generator's parts (`model.g_terms`; nets/warp.py): where the flow moves the
input, how smooth it is, and how much is painted instead of moved.

Flows are measured in pixels of the image the generator sees (its normalised units times half the
width), so a weight means the same at 32 and at 128 px per pixel of motion.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from expr_gan.errors import UsageError
from expr_gan.losses.term import GeneratorStep, LossTerm


def flow_pixels(flow: torch.Tensor) -> torch.Tensor:
    """A flow in grid_sample's normalised units [B, 2, H, W] in pixels (x by the width, y by the height)."""
    scale = torch.tensor([flow.shape[-1] / 2, flow.shape[-2] / 2], dtype=flow.dtype, device=flow.device)
    return flow * scale.view(1, 2, 1, 1)


def flow_at(flow: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """The flow [B, 2, H, W] read (bilinearly) at `points` [B, K, 2] (pixels, continuous coordinates): [B, K, 2]."""
    h, w = flow.shape[-2:]
    size = torch.tensor([w, h], dtype=torch.float32, device=points.device)
    grid = (2 * points.float() / size - 1).unsqueeze(1)  # [B, 1, K, 2], align_corners=False; float32 (see warp_image)
    return F.grid_sample(flow.float(), grid, mode="bilinear", padding_mode="border",
                         align_corners=False)[:, :, 0].transpose(1, 2)


class FlowAtPoints(LossTerm):
    """Mean distance (pixels) between the flow and the motion the renderer's points give.

    The flow samples backwards (out(p) = in(p + flow(p))), so at the target's point t the output must
    show the source's pixel at the same point s: flow(t) = s - t. Points that do not move (eye
    centres, nose tip) ask for no motion there. Pairs whose points are unknown (NaN) are left out.
    """

    requires = ("flow",)
    needs_points = True

    def forward(self, step: GeneratorStep):
        batch = step.batch
        if batch.source_points is None or batch.target_points is None:
            raise UsageError("g_terms.flow_points needs the renderer's named points in the batch (data=synthetic: "
                             "data/face_points.py); this data source has none")
        source, target = batch.source_points, batch.target_points
        known = torch.isfinite(source).all(-1) & torch.isfinite(target).all(-1)  # [B, K]
        if not known.any():
            return step.fake.new_zeros(())
        target = torch.nan_to_num(target)
        wanted = torch.nan_to_num(source) - target
        predicted = flow_at(flow_pixels(step.parts["flow"]), target)
        distance = (predicted - wanted).norm(dim=-1)
        return distance[known].mean()


class FlowSmoothness(LossTerm):
    """Total variation of the flow in pixels: neighbours move together, so a warp folds nothing and
    tears nothing (what makes it carry to a photograph's finer pixels)."""

    requires = ("flow",)

    def forward(self, step: GeneratorStep):
        flow = flow_pixels(step.parts["flow"])
        return ((flow[..., 1:, :] - flow[..., :-1, :]).abs().mean()
                + (flow[..., :, 1:] - flow[..., :, :-1]).abs().mean())


class ResidualSize(LossTerm):
    """Mean |output - warped input|: what was painted instead of moved. A rendered face's paint is the
    renderer's texture, which a photograph does not have; the warp moves the photograph's own."""

    requires = ("flow",)

    def forward(self, step: GeneratorStep):
        return (step.fake - step.parts["warped"]).abs().mean()
