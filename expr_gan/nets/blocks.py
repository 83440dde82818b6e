"""Shared building blocks: norm and activation factories, weight init, conditioning helpers."""
from __future__ import annotations

import math

import torch
from torch import nn

from expr_gan.errors import UsageError

NORM_PLACEMENTS = ("none", "minimal", "all")
NORM_TYPES = ("batch", "instance")
ACTIVATIONS = ("relu", "leaky_relu")
INITS = ("he", "dcgan", "default")
OUT_ACTIVATIONS = ("tanh", "sigmoid", "none")


def check_choice(name: str, value, choices) -> None:
    """Raise a ValueError naming the option when `value` is not one of `choices`."""
    if value not in choices:
        raise UsageError(f"{name}={value!r}: expected one of {', '.join(map(str, choices))}")


def norm_layer(norm_type: str, channels: int) -> nn.Module:
    """BatchNorm2d or (affine) InstanceNorm2d."""
    check_choice("norm_type", norm_type, NORM_TYPES)
    return nn.BatchNorm2d(channels) if norm_type == "batch" else nn.InstanceNorm2d(channels, affine=True)


def activation(name: str) -> nn.Module:
    """ReLU, or LeakyReLU with the report's (and DCGAN's) slope 0.2."""
    check_choice("act", name, ACTIVATIONS)
    return nn.ReLU(inplace=True) if name == "relu" else nn.LeakyReLU(0.2, inplace=True)


def out_activation(name: str) -> nn.Module:
    """The generator's last activation, matched to the pixel range."""
    check_choice("out_act", name, OUT_ACTIVATIONS)
    return {"tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), "none": nn.Identity()}[name]


def wants_norm(placement: str, index: int, minimal_index: int) -> bool:
    """Whether layer `index` gets a norm: `all` (every layer but the last), `minimal` (one layer), `none`."""
    check_choice("norm", placement, NORM_PLACEMENTS)
    return placement == "all" or (placement == "minimal" and index == minimal_index)


def init_weights(module: nn.Module, scheme: str) -> nn.Module:
    """Initialise conv / linear / norm weights.

    `he`: the report's torch7 formula, std = sqrt(4 / (fan_in + fan_out)); `dcgan`: N(0, 0.02) with
    norm gammas N(1, 0.02); `default`: PyTorch's own.
    """
    check_choice("init", scheme, INITS)
    if scheme == "default":
        return module
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if scheme == "he":
                fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight)
                nn.init.normal_(m.weight, 0.0, math.sqrt(4.0 / (fan_in + fan_out)))
            else:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02) if scheme == "dcgan" else nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def tile_condition(x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """Concatenate a [B, E] condition to [B, C, H, W] as E constant planes (StarGAN style)."""
    planes = onehot[:, :, None, None].to(x.dtype).expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, planes], dim=1)


def check_image_size(image_size: int, num_down: int, name: str = "model.net.image_size (data.size)") -> int:
    """Bottleneck side length; raises a clear error when the size does not fit the network."""
    factor = 2 ** num_down
    if image_size < 2 * factor or image_size % factor:
        raise UsageError(f"{name}: image size {image_size} is not supported with num_down={num_down}; "
                         f"expected a multiple of {factor} and at least {2 * factor} (for example 32, 64, 128)")
    return image_size // factor
