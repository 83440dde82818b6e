"""Procedural paired faces: one person, six CAS-PEAL expressions, each a local change.

Everything is a pure function of integers: (seed, identity) fixes the person, (seed, identity,
expression, capture) fixes one photograph of them. Faces are drawn with Pillow on a large canvas
(supersampling), moved by a capture pose (shift, scale, rotation, as in rough real alignment),
downscaled, then lit by a gradient and given sensor noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

EXPRESSIONS = ("neutral", "laughing", "frowning", "surprise", "eyes_closed", "mouth_open")
CANVAS = 512  # supersampled drawing size; every face is drawn here, then downscaled
# Where the renderer puts the eye centres on average, as fractions of the image (x, y; the eye on the
# image's left first): the midpoints of sample_identity's eye_dx (0.095-0.13) and eye_y (0.43-0.47)
# ranges; the capture pose is centred on the identity. Photos are aligned to it (photo/align.py).
TEMPLATE_EYES = ((0.5 - 0.1125, 0.45), (0.5 + 0.1125, 0.45))
ALIGNMENTS = ("independent", "shared", "none")

_SKIN = np.array([[255, 224, 196], [241, 194, 157], [224, 172, 128], [198, 134, 92],
                  [141, 85, 54], [92, 56, 36]], dtype=float)
_HAIR = [(20, 18, 16), (60, 40, 25), (110, 70, 40), (170, 120, 60), (200, 170, 110),
         (150, 150, 150), (230, 230, 225), (120, 40, 20)]
_IRIS = [(70, 45, 25), (40, 90, 160), (60, 130, 80), (110, 110, 120), (30, 25, 20)]


@dataclass(frozen=True)
class Identity:
    """Everything that makes one person look like themselves (all in canvas units of 0..1)."""
    background: tuple
    skin: tuple
    face_w: float
    face_h: float
    hair_style: int
    hair: tuple
    eye_dx: float
    eye_y: float
    eye_r: float
    iris: tuple
    brow_thick: float
    nose_style: int
    nose_len: float
    mouth_w: float
    mouth_y: float
    lips: tuple
    shirt: tuple
    glasses: int
    freckles: bool
    moustache: bool
    detail_seed: int


@dataclass(frozen=True)
class Capture:
    """One photograph's conditions: pose (alignment), lighting and the noise seed."""
    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    angle: float = 0.0
    light_angle: float = 0.0
    light_strength: float = 0.0
    brightness: float = 0.0
    noise_sigma: float = 0.0
    noise_seed: int = 0


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in keys])


def _colour(values) -> tuple:
    return tuple(int(np.clip(round(v), 0, 255)) for v in values)


def sample_identity(seed: int, identity: int) -> Identity:
    """Draw the person `identity` of dataset `seed`; deterministic."""
    r = _rng(seed, identity, 1)
    skin_t = r.uniform(0, len(_SKIN) - 1)
    lo = int(skin_t)
    skin = _SKIN[lo] + (skin_t - lo) * (_SKIN[min(lo + 1, len(_SKIN) - 1)] - _SKIN[lo])
    hair = np.array(_HAIR[r.integers(len(_HAIR))], dtype=float)
    return Identity(
        background=_colour(r.uniform(90, 210, 3)),
        skin=_colour(skin),
        face_w=r.uniform(0.25, 0.31), face_h=r.uniform(0.31, 0.37),
        hair_style=int(r.integers(5)), hair=_colour(hair + r.normal(0, 8, 3)),
        eye_dx=r.uniform(0.095, 0.13), eye_y=r.uniform(0.43, 0.47), eye_r=r.uniform(0.03, 0.042),
        iris=_colour(np.array(_IRIS[r.integers(len(_IRIS))]) + r.normal(0, 6, 3)),
        brow_thick=r.uniform(0.011, 0.02),
        nose_style=int(r.integers(3)), nose_len=r.uniform(0.06, 0.09),
        mouth_w=r.uniform(0.065, 0.1), mouth_y=r.uniform(0.64, 0.68),
        lips=_colour(skin * np.array([0.85, 0.55, 0.55]) + r.normal(0, 6, 3)),
        shirt=_colour(r.uniform(30, 230, 3)),
        glasses=int(r.choice([0, 0, 0, 0, 0, 0, 1, 2])), freckles=bool(r.random() < 0.2),
        moustache=bool(r.random() < 0.15), detail_seed=int(r.integers(2**31)),
    )


def sample_capture(seed: int, identity: int, expression: int, capture: int,
                   alignment: str = "independent") -> Capture:
    """The photographic conditions of one image.

    `independent`: every image its own pose and lighting (like real captures); `shared`: one pose
    and lighting per (identity, capture) so all expressions align pixel for pixel; `none`: no pose
    change and no lighting gradient. Sensor noise is always per image.
    """
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment={alignment!r}: expected one of {', '.join(ALIGNMENTS)}")
    noise = _rng(seed, identity, expression, capture, 3)
    noise_sigma, noise_seed = float(noise.uniform(1.0, 3.0)), int(noise.integers(2**31))
    if alignment == "none":
        return Capture(noise_sigma=noise_sigma, noise_seed=noise_seed)
    key = (seed, identity, expression, capture, 2) if alignment == "independent" else (seed, identity, capture, 4)
    r = _rng(*key)
    return Capture(dx=r.uniform(-0.05, 0.05), dy=r.uniform(-0.05, 0.05), scale=r.uniform(0.92, 1.08),
                   angle=r.uniform(-6, 6), light_angle=r.uniform(0, 2 * math.pi),
                   light_strength=r.uniform(0.0, 0.18), brightness=r.uniform(-0.06, 0.06),
                   noise_sigma=noise_sigma, noise_seed=noise_seed)


class _Painter:
    """Draws in unit coordinates on the supersampled canvas."""

    def __init__(self, image: Image.Image):
        self.draw = ImageDraw.Draw(image)

    @staticmethod
    def box(cx, cy, rx, ry):
        return [(cx - rx) * CANVAS, (cy - ry) * CANVAS, (cx + rx) * CANVAS, (cy + ry) * CANVAS]

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width=0.0):
        self.draw.ellipse(self.box(cx, cy, rx, ry), fill=fill, outline=outline, width=max(1, int(width * CANVAS)))

    def polygon(self, points, fill):
        self.draw.polygon([(x * CANVAS, y * CANVAS) for x, y in points], fill=fill)

    def line(self, points, fill, width):
        self.draw.line([(x * CANVAS, y * CANVAS) for x, y in points], fill=fill,
                       width=max(1, int(width * CANVAS)), joint="curve")

    def arc(self, cx, cy, rx, ry, start, end, fill, width):
        self.draw.arc(self.box(cx, cy, rx, ry), start, end, fill=fill, width=max(1, int(width * CANVAS)))

    def chord(self, cx, cy, rx, ry, start, end, fill):
        self.draw.chord(self.box(cx, cy, rx, ry), start, end, fill=fill)


def _darker(c, f=0.6):
    return tuple(int(v * f) for v in c)


def _draw_head(p: _Painter, ident: Identity, rng: np.random.Generator) -> None:
    fw, fh, cx, cy = ident.face_w, ident.face_h, 0.5, 0.5
    if ident.hair_style in (1, 4):  # short hair: the skull outline, a little larger than the face
        p.ellipse(cx, cy - 0.02, fw * 1.06, fh * 1.03, fill=ident.hair)
    elif ident.hair_style in (2, 3):  # long hair / afro behind the head
        if ident.hair_style == 2:
            p.ellipse(cx, cy - 0.02, fw * 1.25, fh * 1.15, fill=ident.hair)
            p.polygon([(cx - fw * 1.25, cy), (cx + fw * 1.25, cy), (cx + fw * 1.2, 0.86), (cx - fw * 1.2, 0.86)], ident.hair)
        else:
            for k in range(14):
                a = math.pi + k * math.pi / 13
                p.ellipse(cx + math.cos(a) * fw * 1.05, cy - 0.05 + math.sin(a) * fh * 1.0, 0.07, 0.07, fill=ident.hair)
    p.polygon([(cx - fw * 0.4, cy + fh * 0.6), (cx + fw * 0.4, cy + fh * 0.6), (cx + fw * 0.45, 0.95), (cx - fw * 0.45, 0.95)],
              _darker(ident.skin, 0.85))
    p.ellipse(cx, 1.08, 0.42, 0.16, fill=ident.shirt)
    for side in (-1, 1):
        p.ellipse(cx + side * fw * 0.98, ident.eye_y + 0.04, 0.035, 0.055, fill=_darker(ident.skin, 0.92))
    p.ellipse(cx, cy, fw, fh, fill=ident.skin)
    blush = tuple(int(0.85 * s + 0.15 * t) for s, t in zip(ident.skin, (230, 90, 90)))
    for side in (-1, 1):
        p.ellipse(cx + side * ident.eye_dx * 1.15, ident.mouth_y - 0.06, 0.035, 0.025, fill=blush)
        if ident.freckles:
            for _ in range(5):
                p.ellipse(cx + side * ident.eye_dx * rng.uniform(0.8, 1.4), ident.eye_y + rng.uniform(0.05, 0.1),
                          0.004, 0.004, fill=_darker(ident.skin, 0.7))


def _draw_hair_top(p: _Painter, ident: Identity) -> None:
    """Hair over the forehead; the hairline stays above the brows so expressions stay visible."""
    fw, fh, cx, cy = ident.face_w, ident.face_h, 0.5, 0.5
    if ident.hair_style == 0:  # bald: a faint shading of the crown only
        p.chord(cx, cy, fw, fh, 230, 310, fill=_darker(ident.skin, 0.94))
    elif ident.hair_style == 4:  # side-swept fringe
        p.chord(cx, cy, fw, fh, 212, 328, fill=ident.hair)
        p.polygon([(cx - fw * 0.9, cy - fh * 0.45), (cx + fw * 0.6, cy - fh * 0.6), (cx - fw * 0.2, cy - fh * 0.5)], ident.hair)
    else:
        p.chord(cx, cy, fw, fh, 215, 325, fill=ident.hair)


def _draw_eyes(p: _Painter, ident: Identity, state: str) -> None:
    r, ink = ident.eye_r, _darker(ident.skin, 0.35)
    for side in (-1, 1):
        ex, ey = 0.5 + side * ident.eye_dx, ident.eye_y
        if state == "closed":
            p.arc(ex, ey - r * 0.3, r * 1.1, r * 0.8, 20, 160, fill=ink, width=0.007)
        elif state == "squint":  # laughing: upward arcs
            p.arc(ex, ey + r * 0.5, r * 1.1, r * 0.9, 200, 340, fill=ink, width=0.008)
        else:
            wide = 1.35 if state == "wide" else 1.0
            p.ellipse(ex, ey, r * 1.2 * wide, r * 0.75 * wide, fill=(250, 250, 248), outline=ink, width=0.004)
            p.ellipse(ex, ey, r * 0.55, r * 0.55, fill=ident.iris)
            p.ellipse(ex, ey, r * 0.25, r * 0.25, fill=(10, 10, 10))
            p.ellipse(ex + r * 0.18, ey - r * 0.18, r * 0.1, r * 0.1, fill=(255, 255, 255))


def _draw_brows(p: _Painter, ident: Identity, lift: float, tilt: float, wrinkle: bool) -> None:
    # brows: between the hair colour and a dark shade of the skin, so they show on every skin tone
    hair = ident.hair if ident.hair_style else (90, 70, 55)
    colour, r = tuple(int(0.5 * h * 0.7 + 0.5 * s * 0.3) for h, s in zip(hair, ident.skin)), ident.eye_r
    for side in (-1, 1):
        ex, ey = 0.5 + side * ident.eye_dx, ident.eye_y - r * 1.9 - lift
        inner, outer = (ex - side * r * 1.3, ey + tilt), (ex + side * r * 1.4, ey + abs(tilt) * 0.2)
        mid = ((inner[0] + outer[0]) / 2, min(inner[1], outer[1]) - r * 0.35 - lift * 0.5)
        p.line([inner, mid, outer], fill=colour, width=ident.brow_thick)
    if wrinkle:
        for dx in (-0.012, 0.012):
            p.line([(0.5 + dx, ident.eye_y - r * 2.2), (0.5 + dx * 0.7, ident.eye_y - r * 0.9)],
                   fill=_darker(ident.skin, 0.6), width=0.007)


def _draw_nose(p: _Painter, ident: Identity) -> None:
    ink, top, bottom = _darker(ident.skin, 0.75), ident.eye_y + 0.04, ident.eye_y + 0.04 + ident.nose_len
    if ident.nose_style == 0:
        p.line([(0.5, top), (0.49, bottom), (0.515, bottom)], fill=ink, width=0.006)
    elif ident.nose_style == 1:
        p.polygon([(0.5, top), (0.47, bottom), (0.53, bottom)], _darker(ident.skin, 0.9))
    else:
        p.ellipse(0.5, bottom - 0.01, 0.022, 0.016, fill=_darker(ident.skin, 0.88))


def _draw_mouth(p: _Painter, ident: Identity, shape: str) -> None:
    w, y, lips, dark = ident.mouth_w, ident.mouth_y, ident.lips, (70, 20, 25)
    if shape == "neutral":
        p.arc(0.5, y - 0.02, w, 0.03, 30, 150, fill=lips, width=0.009)
    elif shape == "frown":  # a clearly downturned mouth, darker than the lips at rest
        p.arc(0.5, y + 0.035, w * 0.9, 0.04, 200, 340, fill=_darker(lips, 0.75), width=0.013)
    elif shape == "laugh":
        p.chord(0.5, y - 0.01, w * 1.25, 0.075, 0, 180, fill=dark)
        p.chord(0.5, y - 0.01, w * 1.1, 0.03, 0, 180, fill=(250, 250, 245))
        p.ellipse(0.5, y + 0.045, w * 0.5, 0.018, fill=(200, 70, 80))
        p.arc(0.5, y - 0.01, w * 1.25, 0.075, 0, 180, fill=lips, width=0.008)
    elif shape == "o":
        p.ellipse(0.5, y + 0.01, w * 0.38, 0.045, fill=dark, outline=lips, width=0.009)
    elif shape == "open":
        p.ellipse(0.5, y + 0.01, w * 0.8, 0.042, fill=dark, outline=lips, width=0.009)
        p.chord(0.5, y - 0.01, w * 0.65, 0.02, 0, 180, fill=(250, 250, 245))


# expression -> (eyes, brow lift, brow tilt at the inner end, frown wrinkle, mouth)
EXPRESSION_PARTS = {
    "neutral": ("open", 0.0, 0.0, False, "neutral"),
    "laughing": ("squint", 0.008, 0.0, False, "laugh"),
    "frowning": ("open", -0.016, 0.034, True, "frown"),
    "surprise": ("wide", 0.03, -0.01, False, "o"),
    "eyes_closed": ("closed", 0.0, 0.0, False, "neutral"),
    "mouth_open": ("open", 0.0, 0.0, False, "open"),
}


def _draw_accessories(p: _Painter, ident: Identity) -> None:
    if ident.moustache:
        c = _darker(ident.hair, 0.9)
        p.polygon([(0.5 - ident.mouth_w, ident.mouth_y - 0.035), (0.5, ident.mouth_y - 0.06),
                   (0.5 + ident.mouth_w, ident.mouth_y - 0.035), (0.5, ident.mouth_y - 0.045)], c)
    if ident.glasses:
        frame, r = (35, 35, 40), ident.eye_r * 1.9
        for side in (-1, 1):
            ex = 0.5 + side * ident.eye_dx
            if ident.glasses == 1:
                p.ellipse(ex, ident.eye_y, r, r * 0.8, outline=frame, width=0.006)
            else:
                p.draw.rectangle(p.box(ex, ident.eye_y, r, r * 0.7), outline=frame, width=int(0.006 * CANVAS))
        p.line([(0.5 - ident.eye_dx + r, ident.eye_y), (0.5 + ident.eye_dx - r, ident.eye_y)], fill=frame, width=0.005)


def pose_matrix(capture: Capture) -> np.ndarray:
    """Forward 2x3 affine map (canvas pixels) of the capture pose around the canvas centre."""
    a, s, c = math.radians(capture.angle), capture.scale, CANVAS / 2
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) * s
    shift = np.array([c + capture.dx * CANVAS, c + capture.dy * CANVAS]) - rot @ np.array([c, c])
    return np.concatenate([rot, shift[:, None]], axis=1)


def render_face(ident: Identity, expression: str, capture: Capture, size: int = 128,
                channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Render one photograph. Returns (uint8 image [H, W, C], eye centres [[rx, ry], [lx, ly]] in pixels).

    The right eye is the person's right (image left), as in CAS-PEAL's FaceFP files.
    """
    if expression not in EXPRESSION_PARTS:
        raise ValueError(f"expression={expression!r}: expected one of {', '.join(EXPRESSIONS)}")
    eyes, lift, tilt, wrinkle, mouth = EXPRESSION_PARTS[expression]
    image = Image.new("RGB", (CANVAS, CANVAS), ident.background)
    painter = _Painter(image)
    _draw_head(painter, ident, np.random.default_rng(ident.detail_seed))  # freckle layout is per person
    _draw_eyes(painter, ident, eyes)
    _draw_brows(painter, ident, lift, tilt, wrinkle)
    _draw_nose(painter, ident)
    _draw_mouth(painter, ident, mouth)
    _draw_accessories(painter, ident)
    _draw_hair_top(painter, ident)

    forward = pose_matrix(capture)
    inverse = np.linalg.inv(np.vstack([forward, [0, 0, 1]]))[:2]  # Pillow maps output -> input
    image = image.transform((CANVAS, CANVAS), Image.Transform.AFFINE, tuple(inverse.ravel()),
                            resample=Image.Resampling.BILINEAR, fillcolor=ident.background)
    image = image.resize((size, size), Image.Resampling.BOX)
    pixels = np.asarray(image, dtype=np.float32)

    ys, xs = np.mgrid[0:size, 0:size] / max(size - 1, 1) - 0.5
    light = 1 + capture.brightness + capture.light_strength * (
        math.cos(capture.light_angle) * xs + math.sin(capture.light_angle) * ys)
    pixels = pixels * light[..., None]
    pixels += np.random.default_rng(capture.noise_seed).normal(0, capture.noise_sigma, pixels.shape)
    if channels == 1:
        pixels = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        pixels = pixels[..., None]
    elif channels != 3:
        raise ValueError(f"channels={channels}: expected 1 or 3")
    out = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)

    eyes_canvas = np.array([[0.5 - ident.eye_dx, ident.eye_y], [0.5 + ident.eye_dx, ident.eye_y]]) * CANVAS
    eyes_px = (forward[:, :2] @ eyes_canvas.T + forward[:, 2:]).T * (size / CANVAS)
    return out, eyes_px.astype(np.float32)


def render_people(seed: int, people: range, captures: int, alignment: str, size: int,
                  channels: int) -> tuple[list, list, list, list]:
    """(images, eye positions, identities, expressions) of `people`, each with every capture of every
    expression, in that order. A module-level function of plain values (numpy and Pillow only), so a
    spawned worker process imports nothing else."""
    images, eyes, identity, expression = [], [], [], []
    for person in people:
        ident = sample_identity(seed, person)
        for capture in range(captures):
            for e, name in enumerate(EXPRESSIONS):
                pixels, eye_px = render_face(ident, name, sample_capture(seed, person, e, capture, alignment), size, channels)
                images.append(pixels)
                eyes.append(eye_px)
                identity.append(person)
                expression.append(e)
    return images, eyes, identity, expression
