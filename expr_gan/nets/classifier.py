"""Expression classifiers: the report's head (section 2.3.5) and a stronger CNN."""
from __future__ import annotations

import torch
from torch import nn

from expr_gan.errors import UsageError


class ReportClassifierHead(nn.Module):
    """Convolution(128,32,5,5,1,1), Convolution(32,16,5,5,5,5), Convolution(16,1,2,2,2,2), FullyConnected(36,6).

    Each convolution is followed by batch norm and LeakyReLU(0.2); torch7 convolutions have no
    padding. The FC input (36 at the report's 64x64 feature maps) adapts to `in_size`. The report also
    put a ReLU after the FC layer (`logit_relu`), kept for faithfulness.
    """

    def __init__(self, in_channels: int = 128, num_classes: int = 6, in_size: int = 64, logit_relu: bool = True):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, 1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(32, 16, 5, 5), nn.BatchNorm2d(16), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(16, 1, 2, 2), nn.BatchNorm2d(1), nn.LeakyReLU(0.2, inplace=True))
        side = ((in_size - 4 - 5) // 5 + 1 - 2) // 2 + 1
        if in_size - 4 < 5 or side < 1:
            raise UsageError(f"classifier: feature maps of {in_size} px are too small for the report's head (need >= 11)")
        self.fc = nn.Linear(side * side, num_classes)
        self.logit_relu = nn.ReLU() if logit_relu else nn.Identity()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """[B, in_channels, in_size, in_size] -> logits [B, num_classes]."""
        return self.logit_relu(self.fc(self.convs(features).flatten(1)))


class ExpressionCNN(nn.Module):
    """A stronger classifier: stride-2 conv blocks (BN, LeakyReLU), global pooling, dropout, linear."""

    def __init__(self, in_channels: int = 3, num_classes: int = 6, width: int = 32, depth: int = 4,
                 dropout: float = 0.2):
        super().__init__()
        layers, ch = [], in_channels
        for i in range(depth):
            out = width * 2 ** min(i, 3)
            layers += [nn.Conv2d(ch, out, 3, 1, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2, inplace=True),
                       nn.Conv2d(out, out, 3, 2, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2, inplace=True)]
            ch = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(ch, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] -> logits [B, num_classes]."""
        return self.head(self.features(x))
