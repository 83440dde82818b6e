"""GANimation's attention-mask output: output = mask * input + (1 - mask) * colour."""
from __future__ import annotations

import torch
from torch import nn

from expr_gan.nets.blocks import out_activation


class MaskedOutput(nn.Module):
    """Turns last features into an image, optionally through an attention mask over the input.

    With `mask=True` a conv predicts a colour image and a one-channel mask (sigmoid); the network
    then only has to paint where the expression changes and copies the rest of the input.
    """

    def __init__(self, in_channels: int, channels: int, mask: bool, out_act: str = "tanh", kernel: int = 7):
        super().__init__()
        self.mask, self.channels = mask, channels
        self.conv = nn.Conv2d(in_channels, channels + (1 if mask else 0), kernel, 1, kernel // 2)
        self.colour_act = out_activation(out_act)

    def forward(self, features: torch.Tensor, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(image, mask or None); the mask is 1 where the input is kept."""
        h = self.conv(features)
        colour = self.colour_act(h[:, : self.channels])
        if not self.mask:
            return colour, None
        mask = torch.sigmoid(h[:, self.channels :])
        return mask * source + (1 - mask) * colour, mask
