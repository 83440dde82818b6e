"""pix2pix's U-Net generator (skip connections), conditioned on the one-hot, optional attention mask."""
from __future__ import annotations

import torch
from torch import nn

from expr_gan.errors import UsageError
from expr_gan.nets.attention import MaskedOutput
from expr_gan.nets.blocks import check_image_size, init_weights, norm_layer, tile_condition


class UNetGenerator(nn.Module):
    """Encoder of stride-2 4x4 convs down to a small bottleneck, decoder of transposed convs with skips.

    `num_down=None` goes down to 2x2. The one-hot is tiled onto the input and again onto the bottleneck. `mask=True` gives the
    GANimation output (`forward(..., with_mask=True)` also returns the mask for penalties and grids).
    `full_res_layers` 3x3 conv blocks at the image's own resolution, each seeing the input again, before
    the output: pix2pix's decoder reaches full size in its last transposed conv, which leaves a
    feature a few pixels wide (an eye, a mouth) one layer to be drawn in.
    """

    def __init__(self, channels: int = 3, num_expressions: int = 6, image_size: int = 64, width: int = 32,
                 max_width: int = 256, num_down: int | None = None, norm_type: str = "instance", mask: bool = False,
                 out_act: str = "tanh", dropout: float = 0.0, init: str = "dcgan", full_res_layers: int = 0):
        super().__init__()
        if num_down is None:  # down to a 2x2 bottleneck
            num_down = max(1, image_size.bit_length() - 2)
        check_image_size(image_size, num_down)
        self.channels, self.image_size, self.num_expressions = channels, image_size, num_expressions
        widths = [min(width * 2 ** i, max_width) for i in range(num_down)]
        self.downs = nn.ModuleList()
        cin = channels + num_expressions
        for i, w in enumerate(widths):
            layers = [nn.Conv2d(cin, w, 4, 2, 1)]
            if 0 < i < num_down - 1:
                layers.append(norm_layer(norm_type, w))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            self.downs.append(nn.Sequential(*layers))
            cin = w
        self.ups = nn.ModuleList()
        for i in reversed(range(num_down)):  # level i: its input is level i's features + (condition | skip)
            cin_up = widths[i] + (num_expressions if i == num_down - 1 else widths[i])
            out = widths[i - 1] if i > 0 else width
            layers = [nn.ConvTranspose2d(cin_up, out, 4, 2, 1), norm_layer(norm_type, out), nn.ReLU(inplace=True)]
            if dropout and 0 < i and i >= num_down - 3:
                layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))
        if full_res_layers < 0:
            raise UsageError(f"full_res_layers={full_res_layers}: expected >= 0")
        self.full_res = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width + channels, width, 3, 1, 1), norm_layer(norm_type, width), nn.ReLU(inplace=True))
            for _ in range(full_res_layers))
        self.out = MaskedOutput(width + channels, channels, mask, out_act, kernel=3)
        init_weights(self, init)

    def forward(self, source: torch.Tensor, onehot: torch.Tensor, with_mask: bool = False):
        """The edited image; with `with_mask`, (image, mask or None)."""
        image, mask = self.out(self.features(source, onehot), source)
        return (image, mask) if with_mask else image

    def features(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """The decoder's last features at full resolution, with the source appended (the output head's input)."""
        h, skips = tile_condition(source, onehot), []
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = tile_condition(h, onehot)
        for i, up in enumerate(self.ups):
            if i > 0:
                h = torch.cat([h, skips[-1 - i]], dim=1)
            h = up(h)
        for block in self.full_res:
            h = block(torch.cat([h, source], dim=1))
        return torch.cat([h, source], dim=1)

    def forward_with_mask(self, source: torch.Tensor, onehot: torch.Tensor):
        """(image, mask or None), through __call__ (so hooks and torch.compile apply)."""
        return self(source, onehot, with_mask=True)
