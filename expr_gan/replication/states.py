"""The end state of a trained job, classified by measurement before any claim about it is judged.

A claim about what a model does once trained (the report's claims 2-9) says nothing when the model
has not trained: an image of noise, one constant image, or a black one. Each job's held-out outputs
are measured (all in display units, [0, 1]) and given one state, in this order:

  noise        sharpness >= 2.0 at full or at half resolution: more fine detail than the photos have,
               twice over (random noise, a checkerboard; photos with noise of sigma 12 grey levels
               added read 1.95 at full resolution, sigma 25 read 4.7); or blotches of colour: contrast
               >= 1.2 of a photo's with no more of the source's layout than the mean face (structure
               >= 1.0: random colours in blocks, whose edges are too few for the Laplacian); or grain:
               pixel noise (metrics.realism.pixel_noise) of at least 12/sqrt(3) = 6.9 grey levels, what
               noise of sigma 12 per colour channel (the same boundary) leaves in the grey, on a sharp
               face or on a blurred one (the Laplacian misses noise on a blurred face, revision R8)
  dark/washed  mean brightness more than 0.15 (38 grey levels) below / above the real targets' (a black
               image is dark, not constant: its darkness is what went wrong)
  constant     input_spread < 0.15: outputs for different people differ less than 0.15 of what their
               real photos differ (one image whatever the input)
  faded        contrast < 0.6: the pixels of an output spread less than 0.6 as much as a photo's (a flat or
               grey, washed-out image with at most a faint face; photos blurred 4x keep 0.9, the mean face 0.45)
  shapeless    structure >= 0.6: at 1/4 resolution the output is further from its own source than any
               photo of the person (another capture reads up to ~0.45, the mean face 1.0, another
               person's photo ~1.3): colour, or a generic face-shaped blob, without the person's layout
  copy         the source again whatever the target, by layout and by the expression judge: structure
               <= 0.45 (the source's coarse layout at least as closely as another capture of the
               person, ~0.45; a blurred copy ~0.04), the judge reads the target expression no more
               often than chance (expr_acc <= 1/6: the one-hot is ignored) and reads the source's in at
               least half the outputs (source_expr_acc >= 0.5). The identity function, sharp or not:
               the sharpness column says which. Before revision R7 it was pixels only: structure <=
               0.25 with target_spread <= 0.25, or copy_ratio <= 0.3 (`copy_judge=False`)
  sharp face   sharpness >= 0.6 (the eye-aligned real photos keep ~0.73, photos blurred 2x ~0.3)
  blurry face  everything else

`FACE_STATES` are the states of a model that trained. The thresholds are fixed here, and
tests/test_states.py checks each on outputs whose answer is known (real photos, their blur, noise,
blocks of colour, a constant, a copy, a black image, a faded one). Three were changed once, after
looking at the sample grids of the first budget=cpu run, where the label disagreed with the eye:
colour blotches read `dark` (now the blotch rule), a plaid texture and a hairless brown oval read
`blurry face` (shapeless was 0.8), a copy with texture artefacts read `sharp face` (copy was 0.2);
replication/preregistration.py logs each change and re-reads a run under the old rule (RULES below).
A fourth (R7), after the second run's grids: a regressor's blurred, eyeless head that followed the
target in 42 % of outputs read `copy`, and the design card's smudged copies (identical columns, the
source's expression in 75 %) read `sharp face`; a copy now also needs the judge to read the source.
A fifth (R8), after the third run's grids: a featureless, grainy head-shaped blob read `blurry face`;
the Laplacian's 2.0 is reached by noise on a sharp face but not on a blurred one (rendered faces
blurred 2x under noise of sigma 12 read 0.50 and 1.09 at 64 px), so the grain rule measures the noise itself. Its boundary
was fixed from those known cases before any job was measured with it.

`classify` reads `state_measures` (the outputs' pixels) and two readings of the expression judge,
`expr_acc` and `source_expr_acc` (expr_gan.evaluate on the same held-out pairs): `job_state` joins them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from expr_gan.metrics.realism import laplacian_variance, pixel_noise, sharpness

NOISE_SHARPNESS = 2.0
NOISE_LEVEL = 12 / 3 ** 0.5  # grey levels: noise of sigma 12 per channel, as seen in the grey
CONSTANT_SPREAD = 0.15
BRIGHTNESS_GAP = 0.15
COPY_RATIO = 0.3  # the pixel-only copy rule before R7 (RULES copy_judge=False)
COPY_STRUCTURE = 0.25
COPY_SPREAD = 0.25
COPY_LAYOUT = 0.45  # another capture of the person reads up to ~0.45 (the shapeless rule's note)
COPY_TARGET_READ = 1 / 6  # chance among the six expressions: the one-hot makes no difference the judge sees
COPY_SOURCE_READ = 0.5
SHARP_MIN = 0.6
SHARP_BAND = (SHARP_MIN, NOISE_SHARPNESS)  # "sharp" in a claim: as much detail as photos, not noise's excess
SHAPELESS_STRUCTURE = 0.6
BLOTCH_CONTRAST, BLOTCH_STRUCTURE = 1.2, 1.0
FADED_CONTRAST = 0.6
FACE_STATES = ("blurry face", "sharp face", "copy")
STATES = ("noise", "dark", "washed", "constant", "faded", "shapeless", *FACE_STATES)


def input_spread(outputs01: torch.Tensor, targets01: torch.Tensor, identity: torch.Tensor) -> float:
    """Mean |output_i - output_j| over pairs of different people / the same for their real targets.

    ~0: one image whatever the input; ~1: outputs differ between people as much as photos do. Each
    item is compared with the item half the list away (skipping pairs of one person), a fixed pairing.
    """
    n = len(outputs01)
    if n < 2:
        return float("nan")
    other = torch.roll(torch.arange(n), n // 2)
    keep = identity != identity[other]
    if not keep.any():
        return float("nan")
    out = (outputs01[keep] - outputs01[other][keep]).abs().mean()
    real = (targets01[keep] - targets01[other][keep]).abs().mean()
    return float(out / real.clamp_min(1e-12))


def structure(outputs01: torch.Tensor, sources01: torch.Tensor, mean_face01: torch.Tensor) -> float:
    """Mean |output - source| / mean |mean face - source|, both at 1/4 resolution (4x4 averages): how
    much of the source's coarse layout (hair, face, background) the output has. 0 = all of it."""
    low = lambda x: F.avg_pool2d(x.float(), 4)  # noqa: E731
    base = (low(mean_face01.expand_as(sources01)) - low(sources01)).abs().mean()
    return float((low(outputs01) - low(sources01)).abs().mean() / base.clamp_min(1e-12))


def target_spread(outputs01: torch.Tensor, targets01: torch.Tensor, source_index: torch.Tensor) -> float:
    """Mean |output_i - output_j| over pairs of items with the same source image and different targets,
    over the same for their real targets: ~0 = the target is ignored, ~1 = outputs differ as the real
    expressions do. NaN when no source appears twice."""
    same = (source_index[:, None] == source_index[None, :]).triu(1).nonzero()
    if len(same) == 0:
        return float("nan")
    i, j = same[:4096].T  # a fixed subset keeps it cheap
    out = (outputs01[i] - outputs01[j]).abs().mean()
    return float(out / (targets01[i] - targets01[j]).abs().mean().clamp_min(1e-12))


def state_measures(outputs01: torch.Tensor, sources01: torch.Tensor, targets01: torch.Tensor,
                   identity: torch.Tensor, mean_face01: torch.Tensor, source_index: torch.Tensor) -> dict:
    """The values `classify` reads, for outputs [N, C, H, W] of sources (images `source_index`, of people
    `identity`) edited towards targets, and the mean training face [C, H, W] (all in [0, 1])."""
    moved = (outputs01 - sources01).abs().mean()
    truth = (targets01 - sources01).abs().mean()
    fine = laplacian_variance(outputs01, pool=1).mean() / laplacian_variance(targets01, pool=1).mean().clamp_min(1e-12)
    return {"sharpness": sharpness(outputs01, targets01), "fine_detail": float(fine),
            "pixel_noise": pixel_noise(outputs01),
            "input_spread": input_spread(outputs01, targets01, identity),
            "brightness_gap": float(outputs01.mean() - targets01.mean()),
            "contrast": float(outputs01.std(dim=(1, 2, 3)).mean() / targets01.std(dim=(1, 2, 3)).mean().clamp_min(1e-12)),
            "structure": structure(outputs01, sources01, mean_face01[None]),
            "target_spread": target_spread(outputs01, targets01, source_index),
            "copy_ratio": float(moved / truth.clamp_min(1e-12))}


RULES = {  # classify's parameters; replication/preregistration.py records each change made after a run was seen
    "noise_sharpness": NOISE_SHARPNESS, "blotch": True, "blotch_contrast": BLOTCH_CONTRAST,
    "blotch_structure": BLOTCH_STRUCTURE, "grain": True, "noise_level": NOISE_LEVEL,
    "brightness_gap": BRIGHTNESS_GAP, "constant_spread": CONSTANT_SPREAD,
    "faded_contrast": FADED_CONTRAST, "shapeless_structure": SHAPELESS_STRUCTURE, "faded_first": True,
    "copy_ratio": COPY_RATIO, "copy_structure": COPY_STRUCTURE, "copy_spread": COPY_SPREAD, "sharp_min": SHARP_MIN,
    "copy_judge": True, "copy_layout": COPY_LAYOUT, "copy_target_read": COPY_TARGET_READ,
    "copy_source_read": COPY_SOURCE_READ,
}


def classify(m: dict, rules: dict | None = None) -> str:
    """One of STATES for the measures of `state_measures` plus the judge's `expr_acc` and
    `source_expr_acc` (the first rule that holds, in order); `rules`: changes to RULES (an old rule of
    the revision log, re-read on the same measures)."""
    r = {**RULES, **(rules or {})}
    if max(m["sharpness"], m["fine_detail"]) >= r["noise_sharpness"]:
        return "noise"
    if r["blotch"] and m["contrast"] >= r["blotch_contrast"] and m["structure"] >= r["blotch_structure"]:
        return "noise"
    if r["grain"] and m["pixel_noise"] >= r["noise_level"]:
        return "noise"
    if m["brightness_gap"] < -r["brightness_gap"]:
        return "dark"
    if m["brightness_gap"] > r["brightness_gap"]:
        return "washed"
    if m["input_spread"] < r["constant_spread"]:
        return "constant"
    faded, shapeless = m["contrast"] < r["faded_contrast"], m["structure"] >= r["shapeless_structure"]
    for test, name in ((faded, "faded"), (shapeless, "shapeless"))[::1 if r["faded_first"] else -1]:
        if test:
            return name
    if r["copy_judge"]:
        copy = (m["structure"] <= r["copy_layout"] and m["expr_acc"] <= r["copy_target_read"]
                and m["source_expr_acc"] >= r["copy_source_read"])
    else:
        copy = m["copy_ratio"] <= r["copy_ratio"] or (m["structure"] <= r["copy_structure"]
                                                      and m["target_spread"] <= r["copy_spread"])
    if copy:
        return "copy"
    return "sharp face" if m["sharpness"] >= r["sharp_min"] else "blurry face"


def job_state(extra: dict, evaluation: dict, rules: dict | None = None) -> str:
    """The end state of a replication job from its output measures (`extra`, state_measures' values) and
    its evaluation (the judge's `expr_acc` and `source_expr_acc` on the same held-out people)."""
    return classify({**extra, "expr_acc": evaluation["expr_acc"], "source_expr_acc": evaluation["source_expr_acc"]},
                    rules)


def is_face(state: str) -> bool:
    """Whether a job in `state` trained (a face-like output that depends on its input)."""
    return state in FACE_STATES


def is_sharp(sharpness_ratio: float) -> bool:
    """"Sharp" as a claim means it: within the band of the photos' detail (noise's excess is not sharp)."""
    return SHARP_BAND[0] <= sharpness_ratio < SHARP_BAND[1]
