"""DCGAN networks after dcgan.torch / pytorch examples, grown by one stride-2 layer per size doubling."""
from __future__ import annotations

import math

import torch
from torch import nn

from expr_gan.errors import UsageError
from expr_gan.nets.blocks import init_weights


def _doublings(image_size: int) -> int:
    steps = math.log2(image_size / 64)
    if image_size < 32 or steps != int(steps):
        raise UsageError(f"model: DCGAN nets need a power-of-two image size >= 32, got {image_size}")
    return int(steps)


class DCGANGenerator(nn.Module):
    """The reference noise-to-image generator (nz -> image); 3,576,704 parameters at 64 px, ngf 64."""

    def __init__(self, nz: int = 100, ngf: int = 64, channels: int = 3, image_size: int = 64, init: str = "dcgan"):
        super().__init__()
        extra = _doublings(image_size)
        mults = [8 * 2 ** max(extra, 0) // 2 ** i for i in range(4 + extra)]  # 8,4,2,1 at 64 px
        mults = [max(m, 1) for m in mults]
        layers = [nn.ConvTranspose2d(nz, ngf * mults[0], 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * mults[0]), nn.ReLU(True)]
        for a, b in zip(mults[:-1], mults[1:]):
            layers += [nn.ConvTranspose2d(ngf * a, ngf * b, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf * mults[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        init_weights(self, init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: [B, nz] or [B, nz, 1, 1] -> [B, C, S, S]."""
        return self.main(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """dcgan.torch's netD: stride-2 4x4 convs, BN (not on the first), LeakyReLU(0.2), 4x4 valid conv to a logit.

    One more stride-2 layer per doubling over 64 px (the report's 128 px variant). `fc_dim` > 0 keeps
    fully connected layers before the output (the report kept them); `num_classes` > 0 adds an
    expression-classification head on the same features (the report's second variant, AC-GAN style).
    Returns logits: (real/fake [B], class logits [B, num_classes] or None).
    """

    def __init__(self, channels: int = 3, ndf: int = 64, image_size: int = 64, fc_dim: int = 0,
                 num_classes: int = 0, norm: bool = True, init: str = "dcgan", bias: bool = False):
        super().__init__()
        n_layers = 4 + _doublings(image_size)
        layers, ch = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=bias), nn.LeakyReLU(0.2, True)], ndf
        for _ in range(n_layers - 1):
            layers.append(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=bias))
            if norm:
                layers.append(nn.BatchNorm2d(ch * 2))
            layers.append(nn.LeakyReLU(0.2, True))
            ch *= 2
        self.features = nn.Sequential(*layers)
        if fc_dim > 0:
            self.real_fake = nn.Sequential(nn.Flatten(), nn.Linear(ch * 16, fc_dim), nn.LeakyReLU(0.2, True), nn.Linear(fc_dim, 1))
        else:
            self.real_fake = nn.Sequential(nn.Conv2d(ch, 1, 4, 1, 0, bias=bias), nn.Flatten())
        self.classify = nn.Sequential(nn.Conv2d(ch, num_classes, 4, 1, 0, bias=bias), nn.Flatten()) if num_classes else None
        init_weights(self, init)

    def forward(self, x: torch.Tensor, source: torch.Tensor | None = None, onehot: torch.Tensor | None = None):
        """x: [B, C, S, S] -> (real/fake logits [B], class logits or None). Unconditional, as in the report:
        `source` and `onehot` are accepted and ignored."""
        h = self.features(x)
        return self.real_fake(h).flatten(), (self.classify(h) if self.classify is not None else None)
