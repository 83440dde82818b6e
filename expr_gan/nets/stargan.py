"""StarGAN's networks (Choi et al. 2018): residual-block generator and a two-headed discriminator."""
from __future__ import annotations

import math

import torch
from torch import nn

from expr_gan.nets.attention import MaskedOutput
from expr_gan.nets.blocks import tile_condition


class ResidualBlock(nn.Module):
    """conv-IN-ReLU-conv-IN plus the input."""

    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.InstanceNorm2d(ch, affine=True),
                                  nn.ReLU(inplace=True), nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
                                  nn.InstanceNorm2d(ch, affine=True))

    def forward(self, x):
        return x + self.body(x)


class StarGANGenerator(nn.Module):
    """7x7 conv -> 2 stride-2 downsamples -> residual blocks -> 2 transposed-conv upsamples -> 7x7 conv.

    The label is tiled onto the input. `mask=True` gives GANimation's attention output.
    8.43 M parameters at width 64, 6 blocks, 6 labels.
    """

    def __init__(self, channels: int = 3, num_expressions: int = 6, image_size: int = 128, width: int = 64,
                 num_blocks: int = 6, mask: bool = False, out_act: str = "tanh"):
        super().__init__()
        self.channels, self.image_size, self.num_expressions = channels, image_size, num_expressions
        layers = [nn.Conv2d(channels + num_expressions, width, 7, 1, 3, bias=False),
                  nn.InstanceNorm2d(width, affine=True), nn.ReLU(inplace=True)]
        ch = width
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.InstanceNorm2d(ch * 2, affine=True), nn.ReLU(inplace=True)]
            ch *= 2
        layers += [ResidualBlock(ch) for _ in range(num_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.InstanceNorm2d(ch // 2, affine=True),
                       nn.ReLU(inplace=True)]
            ch //= 2
        self.body = nn.Sequential(*layers)
        self.out = MaskedOutput(ch, channels, mask, out_act, kernel=7)

    def forward(self, source: torch.Tensor, onehot: torch.Tensor, with_mask: bool = False):
        """The edited image; with `with_mask`, (image, mask or None)."""
        image, mask = self.out(self.body(tile_condition(source, onehot)), source)
        return (image, mask) if with_mask else image

    def forward_with_mask(self, source: torch.Tensor, onehot: torch.Tensor):
        """(image, mask or None), through __call__ (so hooks and torch.compile apply)."""
        return self(source, onehot, with_mask=True)


class StarGANDiscriminator(nn.Module):
    """Stride-2 4x4 convs with LeakyReLU(0.01), no norm; a 3x3 real/fake patch head and a class head.

    `repeat_num` = 6 at 128 px (StarGAN); one less per halving of the size.
    """

    def __init__(self, channels: int = 3, num_expressions: int = 6, image_size: int = 128, width: int = 64,
                 repeat_num: int | None = None):
        super().__init__()
        repeat_num = repeat_num or max(2, int(math.log2(image_size)) - 1)
        layers, ch = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.01)], width
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            ch *= 2
        self.features = nn.Sequential(*layers)
        side = image_size // 2 ** repeat_num
        self.patch = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.classify = nn.Conv2d(ch, num_expressions, side, 1, 0, bias=False)

    def forward(self, image: torch.Tensor, source: torch.Tensor | None = None, onehot: torch.Tensor | None = None):
        h = self.features(image)
        return self.patch(h).flatten(1), self.classify(h).flatten(1)
