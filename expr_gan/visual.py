"""Pictures: the sample grid (fixed sources x every target expression, the real targets beneath),
a dataset's contact sheet, and atomic PNG files."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

if TYPE_CHECKING:
    from expr_gan.data.faceset import FaceSet


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


def contact_sheet(faces: "FaceSet", max_identities: int = 8) -> torch.Tensor:
    """A uint8 [C, H, W] grid: rows are identities, columns the expressions (grey where missing)."""
    from torchvision.utils import make_grid

    people = list(dict.fromkeys(faces.identity.tolist()))[:max_identities]
    blank = torch.full_like(faces.images[0], 128)
    tiles = []
    for person in people:
        for e in range(faces.num_expressions):
            hit = ((faces.identity == person) & (faces.expression == e)).nonzero()
            tiles.append(faces.images[hit[0, 0]] if len(hit) else blank)
    return make_grid(torch.stack(tiles), nrow=faces.num_expressions, padding=2, pad_value=255)


def save_png(image: torch.Tensor, path: str | Path) -> Path:
    """Atomically save a uint8 or [0,1] float [C, H, W] tensor as a PNG."""
    from PIL import Image

    from expr_gan.io import atomic_write

    if image.dtype != torch.uint8:
        image = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    array = image.permute(1, 2, 0).cpu().numpy()
    pil = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    return atomic_write(path, lambda tmp: pil.save(tmp, format="PNG"))
