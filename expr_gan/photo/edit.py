"""A photo in, the photo out: every face found is aligned, edited to each target and pasted back."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from expr_gan.data.faces import TEMPLATE_EYES
from expr_gan.photo.align import aligned_crop
from expr_gan.photo.landmarks import Face
from expr_gan.photo.paste import paste_change, paste_warp, region_mask


def minimum_eye_distance(size: int) -> float:
    """The smallest eye distance (photo pixels) whose face is not enlarged into a `size` crop."""
    return float(TEMPLATE_EYES[1][0] - TEMPLATE_EYES[0][0]) * size


@dataclass
class PhotoEdit:
    """What editing one photo produced: one full-size photo per target, and per face its crops."""

    photos: list[np.ndarray]                          # uint8 [H, W, 3], one per target
    crops: list[torch.Tensor] = field(default_factory=list)  # per face: uint8 [1 + targets, C, S, S]
    too_small: list[float] = field(default_factory=list)     # eye distances of the faces left out
    faces: list[Face] = field(default_factory=list)          # the faces edited, in the order of crops


def photo_translate(module):
    """What edit_photo calls for a module: its `translate_with_flow` (a warping model's flow moves the
    photo's own pixels) where it has one, else its `translate`."""
    return getattr(module, "translate_with_flow", module.translate)


def edit_photo(photo: Image.Image, faces: list[Face], translate, pixels, onehots: torch.Tensor, size: int,
               channels: int) -> PhotoEdit:
    """Edit every face of `photo` (RGB) large enough for the model; faces below `minimum_eye_distance`
    are left as they are and listed. `translate(x, onehots)` is the model's edit in its pixel space, or
    (edit, flow or None) from a warping model (a module's `translate_with_flow`), whose flow then moves
    the photo's own pixels (paste.paste_warp); `pixels` is its encoder/decoder of uint8 images."""
    rgb = np.asarray(photo)
    result = PhotoEdit(photos=[rgb.copy() for _ in range(len(onehots))])
    for face in faces:
        if face.interocular < minimum_eye_distance(size):
            result.too_small.append(face.interocular)
            continue
        crop, matrix = aligned_crop(photo, face.eyes, size)
        if channels == 1:
            crop = crop.convert("L")
        given = torch.from_numpy(np.asarray(crop).copy()).reshape(size, size, channels).permute(2, 0, 1)
        with torch.no_grad():
            x = pixels.encode(given[None]).repeat(len(onehots), 1, 1, 1)
            out = translate(x, onehots)
            out, flow = out if isinstance(out, tuple) else (out, None)
            edited = pixels.decode(out)  # float [T, C, S, S] in [0, 1]
            if flow is not None:  # what the flow alone made of the crop: the model's paint is the rest
                from expr_gan.nets.warp import warp_image

                warped_grey = _grey(warp_image(given[None].float().repeat(len(onehots), 1, 1, 1), flow), channels)
        edited_grey = _grey(edited * 255, channels)
        given_grey = _grey(given[None].float(), channels)[0]
        mask = region_mask(face.points, photo.size)
        for t in range(len(onehots)):
            if flow is None:
                result.photos[t] = paste_change(result.photos[t], given_grey, edited_grey[t], matrix, mask)
            else:
                result.photos[t] = paste_warp(result.photos[t], warped_grey[t], edited_grey[t],
                                              flow[t].permute(1, 2, 0).numpy(), matrix, mask)
        result.crops.append(torch.cat([given[None], (edited * 255).round().clamp(0, 255).to(torch.uint8)]))
        result.faces.append(face)
    return result


def _grey(images: torch.Tensor, channels: int) -> np.ndarray:
    """float32 [N, S, S, 3] grey levels of float images [N, C, S, S] (0-255), grey repeated to RGB."""
    array = images.permute(0, 2, 3, 1).numpy().astype(np.float32)
    return array.repeat(3, -1) if channels == 1 else array
