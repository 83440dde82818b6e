"""Pixel ranges (the report's normalisation ablation), each with an exact inverse for display."""
from __future__ import annotations

import torch

from expr_gan.errors import UsageError

MODES = {  # mode -> (scale applied to uint8, offset, the generator output activation that fits it)
    "unit": "sigmoid",      # [0, 1]
    "byte": "none",         # [0, 255], the report's choice
    "symmetric": "tanh",    # [-1, 1], DCGAN's
    "standard": "none",     # (x - mean) / std per channel, fitted on training images
}


class PixelRange:
    """Maps uint8 images to network inputs and back.

    `encode(uint8) -> float`, `decode(float) -> float in [0, 1]`, `to_uint8(float) -> uint8`;
    `to_uint8(encode(x)) == x` exactly for every uint8 x.
    """

    def __init__(self, mode: str = "symmetric", out_activation: str | None = None):
        if mode not in MODES:
            raise UsageError(f"pixels.mode={mode!r}: expected one of {', '.join(MODES)}")
        self.mode = mode
        self.out_activation = out_activation or MODES[mode]
        self.mean = torch.zeros(1)
        self.std = torch.ones(1)

    def fit(self, images: torch.Tensor) -> "PixelRange":
        """Fit the per-channel mean and std (used by `standard` only) on uint8 [N, C, H, W] images."""
        if self.mode == "standard":
            x = images.float()
            self.mean = x.mean(dim=(0, 2, 3)).view(1, -1, 1, 1)
            self.std = x.std(dim=(0, 2, 3)).clamp_min(1e-3).view(1, -1, 1, 1)
        return self

    def _affine(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, b) with encoded = a * byte_value + b."""
        if self.mode == "unit":
            a, b = torch.tensor(1 / 255), torch.tensor(0.0)
        elif self.mode == "byte":
            a, b = torch.tensor(1.0), torch.tensor(0.0)
        elif self.mode == "symmetric":
            a, b = torch.tensor(2 / 255), torch.tensor(-1.0)
        else:
            a, b = 1 / self.std, -self.mean / self.std
        a, b = a.to(like.device), b.to(like.device)
        if a.ndim == 4 and like.ndim == 3:
            a, b = a[0], b[0]
        return a, b

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [..., C, H, W] -> float network input."""
        a, b = self._affine(images)
        return images.float() * a + b

    def to_bytes(self, x: torch.Tensor) -> torch.Tensor:
        """Float network values -> float byte values (0..255, unclamped)."""
        a, b = self._affine(x)
        return (x - b) / a

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """Float network values -> float display values clamped to [0, 1]."""
        return (self.to_bytes(x) / 255).clamp(0, 1)

    def to_uint8(self, x: torch.Tensor) -> torch.Tensor:
        """Float network values -> uint8 images (rounded, clamped)."""
        return self.to_bytes(x).round().clamp(0, 255).to(torch.uint8)

    def state(self) -> dict:
        """Plain tensors describing the fitted range (for checkpoints)."""
        return {"mode": self.mode, "mean": self.mean, "std": self.std}
