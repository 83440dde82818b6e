"""PatchGAN discriminators: conditional (pix2pix), projection, auxiliary classifier, spectral norm, multi-scale."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from expr_gan.nets.blocks import check_choice, init_weights, norm_layer, tile_condition


class PatchDiscriminator(nn.Module):
    """A map of real/fake logits over overlapping patches (70x70 at 256 px with 3 layers).

    cond_source: also sees the source image (pix2pix: "is this a plausible edit of that input?").
    cond_label: `none`, `tile` (one-hot planes at the input) or `projection` (Miyato & Koyama: inner
    product of a label embedding with the patch features). num_classes > 0 adds an auxiliary expression
    classifier (StarGAN / AC-GAN). norm: `batch`, `instance` or `none`; spectral: spectral norm on every conv.
    Returns (logits [B, h, w], class logits [B, num_classes] or None).
    """

    def __init__(self, channels: int = 3, num_expressions: int = 6, width: int = 64, n_layers: int = 3,
                 cond_source: bool = True, cond_label: str = "tile", num_classes: int = 0, norm: str = "instance",
                 spectral: bool = False, slope: float = 0.2, init: str = "dcgan"):
        super().__init__()
        check_choice("cond_label", cond_label, ("none", "tile", "projection"))
        self.cond_source, self.cond_label = cond_source, cond_label
        wrap = spectral_norm if spectral else (lambda m: m)
        cin = channels * (2 if cond_source else 1) + (num_expressions if cond_label == "tile" else 0)
        layers, ch = [wrap(nn.Conv2d(cin, width, 4, 2, 1)), nn.LeakyReLU(slope, True)], width
        for i in range(1, n_layers + 1):
            out = width * min(2 ** i, 8)
            layers.append(wrap(nn.Conv2d(ch, out, 4, 2 if i < n_layers else 1, 1)))
            if norm != "none":
                layers.append(norm_layer(norm, out))
            layers.append(nn.LeakyReLU(slope, True))
            ch = out
        self.features = nn.Sequential(*layers)
        self.patch = wrap(nn.Conv2d(ch, 1, 4, 1, 1))
        self.embed = wrap(nn.Linear(num_expressions, ch, bias=False)) if cond_label == "projection" else None
        self.classify = nn.Sequential(wrap(nn.Conv2d(ch, num_classes, 3, 1, 1)), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten()) if num_classes else None
        init_weights(self, init)

    def _input(self, image, source, onehot) -> torch.Tensor:
        x = image
        if self.cond_source:
            x = torch.cat([x, source], dim=1)
        if self.cond_label == "tile":
            x = tile_condition(x, onehot)
        return x

    def feature_maps(self, image: torch.Tensor, source=None, onehot=None) -> list[torch.Tensor]:
        """The activations after each LeakyReLU of the trunk (for a feature-matching loss)."""
        h, maps = self._input(image, source, onehot), []
        for layer in self.features:
            h = layer(h)
            if isinstance(layer, nn.LeakyReLU):
                maps.append(h)
        return maps

    def forward(self, image: torch.Tensor, source: torch.Tensor | None = None, onehot: torch.Tensor | None = None):
        h = self.features(self._input(image, source, onehot))
        logits = self.patch(h)
        if self.embed is not None:  # projection: <embed(y), h> at every patch, cropped to the logit map
            proj = (self.embed(onehot.to(h.dtype))[:, :, None, None] * h).sum(1, keepdim=True)
            logits = logits + proj[:, :, : logits.shape[2], : logits.shape[3]]
        return logits.flatten(1), (self.classify(h) if self.classify is not None else None)


class MultiScaleDiscriminator(nn.Module):
    """`num_scales` discriminators on the input at full, 1/2, 1/4 ... resolution (pix2pixHD style)."""

    def __init__(self, num_scales: int = 2, **kwargs):
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(**kwargs) for _ in range(num_scales))

    def feature_maps(self, image, source=None, onehot=None) -> list[torch.Tensor]:
        """Every scale's trunk activations, full resolution first."""
        maps = []
        for i, d in enumerate(self.scales):
            if i:
                image = F.avg_pool2d(image, 2)
                source = F.avg_pool2d(source, 2) if source is not None else None
            maps += d.feature_maps(image, source, onehot)
        return maps

    def forward(self, image, source=None, onehot=None):
        logits, classes = [], []
        for i, d in enumerate(self.scales):
            if i:
                image = F.avg_pool2d(image, 2)
                source = F.avg_pool2d(source, 2) if source is not None else None
            out, cls = d(image, source, onehot)
            logits.append(out)
            if cls is not None:
                classes.append(cls)
        return torch.cat(logits, 1), (torch.stack(classes).mean(0) if classes else None)
