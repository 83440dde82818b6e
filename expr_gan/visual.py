"""The sample grid: fixed sources x every target expression, with the real targets beneath."""
from __future__ import annotations

from typing import Callable

import torch


@torch.no_grad()
def expression_grid(translate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], sample: dict,
                    decode: Callable[[torch.Tensor], torch.Tensor], extra_rows: Callable | None = None) -> torch.Tensor:
    """Build a [3, H, W] float image in [0, 1].

    For each source person two rows: [source, output for each target expression] and
    [blank, the person's real image of each expression] (grey where the dataset has none).
    `translate(source, onehot)` returns network-range images; `decode` maps them to [0, 1].
    `extra_rows(source, onehot)` may return more [S*E, C, H, W] tensors to show per target (masks).
    """
    from torchvision.utils import make_grid

    source, targets, mask = sample["source"], sample["targets"], sample["target_mask"]
    s, e = targets.shape[:2]
    src_rep = source.repeat_interleave(e, dim=0)
    onehot = torch.eye(e, device=source.device).repeat(s, 1)
    outputs = decode(translate(src_rep, onehot)).view(s, e, *source.shape[1:])
    extras = [decode(x).view(s, e, *source.shape[1:]) for x in (extra_rows(src_rep, onehot) if extra_rows else [])]
    truth = decode(targets)
    grey = torch.full_like(truth[0, 0], 0.5)
    truth = torch.where(mask[:, :, None, None, None].to(truth.device), truth, grey)
    rows = []
    for i in range(s):
        rows += [decode(source[i : i + 1]), outputs[i]]
        for extra in extras:
            rows += [grey[None], extra[i]]
        rows += [grey[None], truth[i]]
    tiles = torch.cat(rows).float().cpu()
    return make_grid(tiles, nrow=e + 1, padding=2, pad_value=1.0)
