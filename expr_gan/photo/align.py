"""Crops of a photo aligned by the eyes to the embedded faces' template, and their inverse.

A similarity transform (rotation, uniform scale, shift) puts the photo's two eye centres where the
renderer puts them on average (`data.faces.TEMPLATE_EYES`), so a model trained on the embedded faces
sees a photo's face at the pose, scale and framing it learned. Matrices are 2x3, mapping photo
pixel coordinates to crop pixel coordinates (x' = A @ [x, y, 1]).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from expr_gan.data.faces import TEMPLATE_EYES


def template_eyes(size: int) -> np.ndarray:
    """float64 [2, 2]: the template's eye centres in a crop of `size` pixels (pixel-centre coordinates:
    the renderer draws in continuous coordinates, where pixel i spans [i, i + 1])."""
    return np.asarray(TEMPLATE_EYES, dtype=np.float64) * size - 0.5


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity that maps the two points `src` [2, 2] exactly onto `dst` [2, 2]."""
    zs = complex(*src[0]), complex(*src[1])
    zd = complex(*dst[0]), complex(*dst[1])
    if zs[1] == zs[0]:
        raise ValueError("similarity: the two source points coincide")
    a = (zd[1] - zd[0]) / (zs[1] - zs[0])
    b = zd[0] - a * zs[0]
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


def crop_matrix(eyes: np.ndarray, size: int) -> np.ndarray:
    """Photo -> crop matrix that puts `eyes` (image-left eye first) on the template of a `size` crop."""
    return similarity(np.asarray(eyes, dtype=np.float64), template_eyes(size))


def invert(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine matrix."""
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points [N, 2] mapped by a 2x3 matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def warp(image: Image.Image, matrix: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """`image` resampled (bicubic) into an output of `size` (w, h), where output = matrix(input).

    Pillow's affine transform maps each output pixel to the input, so it takes the inverse. Pillow
    samples at pixel corners, the matrices use pixel centres: the half-pixel shifts convert.
    """
    to_input = invert(_centres(matrix))
    return image.transform(size, Image.Transform.AFFINE, tuple(to_input.ravel()), resample=Image.Resampling.BICUBIC)


def _centres(matrix: np.ndarray) -> np.ndarray:
    """A pixel-centre matrix as Pillow's corner convention: shift by half a pixel in and out."""
    shift_in = np.array([[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1]])
    shift_out = np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    return (shift_out @ np.vstack([matrix, [0, 0, 1]]) @ shift_in)[:2]


def aligned_crop(photo: Image.Image, eyes: np.ndarray, size: int) -> tuple[Image.Image, np.ndarray]:
    """The face of `photo` (RGB) aligned by its eyes into a `size` crop, and the photo -> crop matrix.

    A face larger than the crop is first warped at its own scale and then reduced with a Lanczos
    filter, so a 500 px face becomes a 64 px crop without aliasing.
    """
    matrix = crop_matrix(eyes, size)
    scale = float(np.hypot(*matrix[:, 0]))  # crop pixels per photo pixel
    big = max(size, int(round(size / scale))) if scale < 1 else size
    if big == size:
        return warp(photo, matrix, (size, size)), matrix
    crop = warp(photo, crop_matrix(eyes, big), (big, big))
    return crop.resize((size, size), Image.Resampling.LANCZOS), matrix
