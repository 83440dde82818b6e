"""A warping generator: the source's own pixels moved by a dense flow, plus paint only where a warp cannot make the texture.

output = mask * warp(source, flow) + (1 - mask) * colour

A model trained on rendered faces learns the renderer's texture, which no photograph has; where
things move (the mouth widens, the lips part, the brows rise, the lids close) carries over. The flow
moves the input's pixels (`grid_sample`), so an edit of a photograph keeps its texture; the attention
mask and its colour paint what no warp can make (the inside of an opened mouth, closed lids), and
the terms of losses/flow_terms.py keep that paint small and the flow smooth and where the renderer's
points say the face moved.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from expr_gan.errors import UsageError
from expr_gan.nets.blocks import init_weights, out_activation
from expr_gan.nets.unet import UNetGenerator


def identity_grid(batch: int, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """[B, H, W, 2] sampling positions of every pixel centre in grid_sample's normalised coordinates
    (align_corners=False): sampling there returns the image itself."""
    ys = (torch.arange(height, device=like.device, dtype=like.dtype) * 2 + 1) / height - 1
    xs = (torch.arange(width, device=like.device, dtype=like.dtype) * 2 + 1) / width - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    return grid.expand(batch, height, width, 2)


def warp_image(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """`image` [B, C, H, W] sampled at each pixel plus `flow` [B, 2, H, W] (x, y; normalised units, 2 =
    the image's width): out(p) = image(p + flow(p)), bilinear, borders repeated."""
    b, _, h, w = image.shape
    # in float32 whatever the autocast dtype: in bf16 a 128 px grid is off by up to half a pixel
    grid = identity_grid(b, h, w, flow.float()) + flow.float().permute(0, 2, 3, 1)
    out = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.to(image.dtype)


class WarpOutput(nn.Module):
    """From last features: a flow (2 channels, at most `max_flow` normalised units, tanh), an
    attention mask (sigmoid, 1 = keep the warped input) and a colour image.

    The flow's bias starts at zero and its weights small (the network's init), the mask's bias at
    `mask_bias`: at initialisation the output is nearly the input, moved a little. Weights at zero
    would keep the trunk from learning anything for the flow until they grow (no gradient reaches it
    through a zero conv).
    """

    def __init__(self, in_channels: int, channels: int, out_act: str = "tanh", max_flow: float = 0.25,
                 mask_bias: float = 2.0, kernel: int = 3):
        super().__init__()
        if not 0 < max_flow <= 2:
            raise UsageError(f"model.generator.max_flow={max_flow}: expected a share of the image in (0, 2]")
        self.channels, self.max_flow, self.mask_bias = channels, max_flow, mask_bias
        self.mask = True  # what loss terms look for (losses/term.py capabilities)
        self.conv = nn.Conv2d(in_channels, channels + 1, kernel, 1, kernel // 2)
        self.flow = nn.Conv2d(in_channels, 2, kernel, 1, kernel // 2)
        self.colour_act = out_activation(out_act)
        self.reset_head()

    def reset_head(self) -> None:
        """The start described in the class docstring (run after the network's own initialisation)."""
        nn.init.zeros_(self.flow.bias)
        with torch.no_grad():
            self.conv.bias[self.channels:].fill_(self.mask_bias)

    def forward(self, features: torch.Tensor, source: torch.Tensor) -> dict:
        """image, mask (1 = keep the warped input), flow [B, 2, H, W], warped (the input moved by the flow)."""
        h = self.conv(features)
        colour = self.colour_act(h[:, : self.channels])
        mask = torch.sigmoid(h[:, self.channels:])
        flow = self.max_flow * torch.tanh(self.flow(features))
        warped = warp_image(source, flow)
        image = mask * warped + (1 - mask) * colour
        return {"image": image, "mask": mask, "flow": flow, "warped": warped}


class WarpGenerator(UNetGenerator):
    """pix2pix's U-Net trunk (nets/unet.py, every option of it) with the warping output above.

    `forward(x, onehot)` gives the image, `with_mask=True` (image, mask) as every attention generator,
    `with_parts=True` the dict of WarpOutput (what flow terms and the photo paste read).
    """

    def __init__(self, channels: int = 3, num_expressions: int = 6, image_size: int = 64, width: int = 32,
                 max_width: int = 256, num_down: int | None = None, norm_type: str = "instance", mask: bool = True,
                 out_act: str = "tanh", dropout: float = 0.0, init: str = "dcgan", full_res_layers: int = 0,
                 max_flow: float = 0.25, mask_bias: float = 2.0):
        if not mask:
            raise UsageError("model.generator.mask=false: a warping generator always has its attention mask")
        super().__init__(channels, num_expressions, image_size, width, max_width, num_down, norm_type, True,
                         out_act, dropout, init, full_res_layers)
        self.out = init_weights(WarpOutput(width + channels, channels, out_act, max_flow, mask_bias), init)
        self.out.reset_head()

    def forward(self, source: torch.Tensor, onehot: torch.Tensor, with_mask: bool = False, with_parts: bool = False):
        """The edited image; `with_mask`: (image, mask); `with_parts`: image, mask, flow and warped input."""
        parts = self.out(self.features(source, onehot), source)
        if with_parts:
            return parts
        return (parts["image"], parts["mask"]) if with_mask else parts["image"]

    def forward_parts(self, source: torch.Tensor, onehot: torch.Tensor) -> dict:
        """The parts (see forward), through __call__ (so hooks and torch.compile apply)."""
        return self(source, onehot, with_parts=True)
