"""FaceSet: decoded images of people showing expressions, the unit every source produces."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class FaceSet:
    """Decoded uint8 images with one identity and one expression label each.

    images: [N, C, H, W] uint8; identity, expression: [N] int64; eyes: [N, 2, 2] float32 pixel
    positions of the right and left eye (NaN where unknown); expression_names: the vocabulary.
    """
    images: torch.Tensor
    identity: torch.Tensor
    expression: torch.Tensor
    expression_names: tuple[str, ...]
    eyes: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.images)
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"FaceSet.images must be uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.identity) != n or len(self.expression) != n:
            raise ValueError("FaceSet: images, identity and expression must have the same length")
        if self.eyes is None:
            self.eyes = torch.full((n, 2, 2), float("nan"))

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_expressions(self) -> int:
        """Size of the expression vocabulary (the one-hot length)."""
        return len(self.expression_names)

    def to_tensors(self) -> dict:
        """Plain tensors and strings, loadable with torch.load(weights_only=True)."""
        return {"images": self.images, "identity": self.identity, "expression": self.expression,
                "eyes": self.eyes, "expression_names": list(self.expression_names), "meta": dict(self.meta)}

    @classmethod
    def from_tensors(cls, d: dict) -> "FaceSet":
        """Inverse of `to_tensors`."""
        return cls(d["images"], d["identity"], d["expression"], tuple(d["expression_names"]), d["eyes"], d.get("meta", {}))
