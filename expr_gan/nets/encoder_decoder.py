"""The report's image-generation network: a conditional encoder-decoder (after Ghodrati et al.).

Every knob the report turned is a constructor argument: normalisation placement and type,
activation, down- and upsampling, a fully connected bottleneck, how the one-hot enters, weight init.
"""
from __future__ import annotations

import torch
from torch import nn

from expr_gan.nets.blocks import (activation, check_choice, check_image_size, init_weights, norm_layer,
                                  out_activation, tile_condition, wants_norm)


class EncoderDecoder(nn.Module):
    """Image (+ extra stacked images) and a one-hot target expression -> image.

    Layers are numbered in order (input conv = 0, then each down, [fc], each up); the last conv never
    gets a norm; its bias starts at `out_bias` when given (mid-grey for a linear [0, 255] output). `condition="tile"` adds the one-hot as input planes, `"dense"` maps it through two
    dense layers to feature maps merged at the bottleneck (Ghodrati et al.), `"none"` ignores it
    (`cond_scale`: the value of a tiled plane that is on; 255 puts it in [0, 255] images' units)
    (Ghodrati's refinement stage sees only the stacked images).
    """

    def __init__(self, channels: int = 3, num_expressions: int = 6, image_size: int = 64, width: int = 32,
                 max_width: int = 256, num_down: int = 3, norm: str = "all", norm_type: str = "batch",
                 minimal_index: int = 0, act: str = "relu", down: str = "stride", up: str = "deconv",
                 fc_bottleneck: bool = False, fc_dim: int = 512, condition: str = "tile", init: str = "he",
                 out_act: str = "tanh", out_bias: float | None = None, cond_scale: float = 1.0,
                 extra_inputs: int = 0):
        super().__init__()
        check_choice("down", down, ("stride", "pool"))
        check_choice("up", up, ("deconv", "upsample"))
        check_choice("condition", condition, ("tile", "dense", "none"))
        side = check_image_size(image_size, num_down)
        self.condition, self.num_expressions, self.cond_scale = condition, num_expressions, cond_scale
        self.channels, self.image_size = channels, image_size
        self._layer = 0
        self._norm, self._norm_type, self._minimal, self._act = norm, norm_type, minimal_index, act

        in_ch = channels * (1 + extra_inputs) + (num_expressions if condition == "tile" else 0)
        widths = [min(width * 2 ** i, max_width) for i in range(num_down + 1)]
        self.stem = self._block(nn.Conv2d(in_ch, widths[0], 5, 1, 2), widths[0])
        downs = []
        for i in range(num_down):
            if down == "stride":
                downs.append(self._block(nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1), widths[i + 1]))
            else:
                downs.append(nn.Sequential(self._block(nn.Conv2d(widths[i], widths[i + 1], 3, 1, 1), widths[i + 1]),
                                           nn.MaxPool2d(2)))
        self.down = nn.Sequential(*downs)
        bottom = widths[-1]
        self.cond_embed = self.cond_merge = None
        if condition == "dense":
            emb = min(bottom, 64)
            self.cond_embed = nn.Sequential(nn.Linear(num_expressions, 128), activation(act),
                                            nn.Linear(128, emb * side * side), nn.Unflatten(1, (emb, side, side)))
            self.cond_merge = self._block(nn.Conv2d(bottom + emb, bottom, 3, 1, 1), bottom)
        self.fc = None
        if fc_bottleneck:
            flat = bottom * side * side
            self.fc = nn.Sequential(nn.Flatten(), nn.Linear(flat, fc_dim), activation(act),
                                    nn.Linear(fc_dim, flat), activation(act), nn.Unflatten(1, (bottom, side, side)))
        ups = []
        for i in reversed(range(num_down)):
            if up == "deconv":
                ups.append(self._block(nn.ConvTranspose2d(widths[i + 1], widths[i], 4, 2, 1), widths[i]))
            else:
                ups.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                         self._block(nn.Conv2d(widths[i + 1], widths[i], 3, 1, 1), widths[i])))
        self.up = nn.Sequential(*ups)
        self.head = nn.Sequential(nn.Conv2d(widths[0], channels, 5, 1, 2), out_activation(out_act))
        init_weights(self, init)
        # where a linear output starts: with batch norm before it, the output is w . (unit-scale features)
        # + b, and Adam moves each weight by about lr per step, so from b = 0 a few hundred steps reach
        # only a few grey levels of [0, 255]; b = mid-grey starts it inside the targets' range
        if out_bias is not None:
            nn.init.constant_(self.head[0].bias, out_bias)

    def _block(self, conv: nn.Module, channels: int) -> nn.Sequential:
        layers = [conv]
        if wants_norm(self._norm, self._layer, self._minimal):
            layers.append(norm_layer(self._norm_type, channels))
        layers.append(activation(self._act))
        self._layer += 1
        return nn.Sequential(*layers)

    def encode(self, x: torch.Tensor, onehot: torch.Tensor) -> list[torch.Tensor]:
        """Encoder feature maps, one per level: [stem output, after down 1, ..., bottleneck]."""
        if self.condition == "tile":
            x = tile_condition(x, onehot * self.cond_scale if self.cond_scale != 1 else onehot)
        levels = [self.stem(x)]
        for block in self.down:
            levels.append(block(levels[-1]))
        return levels

    def decode(self, h: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Bottleneck features -> image (the dense condition and FC bottleneck are applied here)."""
        if self.cond_embed is not None:
            h = self.cond_merge(torch.cat([h, self.cond_embed(onehot.to(h.dtype))], dim=1))
        if self.fc is not None:
            h = self.fc(h)
        return self.head(self.up(h))

    def forward_with_features(self, x: torch.Tensor, onehot: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output image and the encoder's per-level features (for heads that tap them)."""
        levels = self.encode(x, onehot)
        return self.decode(levels[-1], onehot), levels

    def forward(self, x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """x: [B, C*(1+extra_inputs), H, W] in the pixel range; onehot: [B, E]. Returns [B, C, H, W]."""
        return self.forward_with_features(x, onehot)[0]
