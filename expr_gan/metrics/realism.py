"""Realism referees: a classifier two-sample test (C2ST) and a sharpness ratio.

c2st_acc   Lopez-Paz & Oquab (ICLR 2017). A fresh classifier (seeded, fixed budget) learns to tell
           real target photos from model outputs on pairs of TRAINING people and is scored on pairs
           of held-out people: 0.5 = indistinguishable, 1.0 = every output is spotted. It sees both
           sides quantised to 8 bits (as saved images are), without blur augmentation (blur is what
           it must see), after the same 2x2 average as `sharpness`: at full resolution it tells
           even real photos warped by the eyes from unwarped ones by their smoothed sensor noise
           (0.95 on the embedded faces at 64 px), which no person sees; after the average it still
           spots real photos blurred 2x (0.98) and scores such warped photos 0.71. It is a referee:
           built per evaluation, never a training loss, sharing weights with nothing that trains.
           One classifier's accuracy moves with its seed, so c2st_acc is the mean over `seeds`
           classifiers (c2st_runs) and c2st_std their standard deviation.
sharpness  mean variance of the Laplacian of the outputs / that of the real targets, measured after
           a 2x2 average: at full resolution the embedded faces' finest scale is per-image sensor
           noise, which any resampling removes (eye-aligned real photos keep only ~0.44 of it there,
           ~0.73 after the average). 1.0 = as sharp as the real photos; real photos blurred 2x
           (down- then up-sampled) score ~0.3.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from expr_gan.errors import UsageError
from expr_gan.referees import Referee

@dataclass(frozen=True)
class C2STSettings:
    """The C2ST's settings, one definition: the defaults are train.yaml's `c2st` node (conf/train.yaml,
    what every run stores and `c2st.<key>=...` overrides); an unknown key is an error naming it."""

    steps: int
    batch_size: int
    width: int
    lr: float
    seed: int
    train_pairs: int
    pool: int
    seeds: int

    @classmethod
    def from_config(cls, c2st: dict | None = None) -> "C2STSettings":
        """The defaults with the keys of `c2st` (a run's `c2st` node, or a part of it) replaced."""
        given = dict(c2st or {})
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise UsageError(f"c2st: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(names)}")
        return cls(**{**_train_yaml_c2st(), **given})

    def classifier(self) -> dict:
        """The keyword arguments of `c2st_runs`: everything but which pairs it trains on."""
        return {k: v for k, v in asdict(self).items() if k != "train_pairs"}

    def as_dict(self) -> dict:
        """Every setting, as a plain dict (what metrics.json records)."""
        return asdict(self)


@lru_cache(maxsize=1)
def _train_yaml_c2st() -> dict:
    from omegaconf import OmegaConf

    from expr_gan.config import config_dir

    return dict(OmegaConf.to_container(OmegaConf.load(Path(config_dir()) / "train.yaml").c2st))


def to_uint8(images01: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats to uint8, as a saved image would hold them (real photos are 8-bit)."""
    return (images01.clamp(0, 1) * 255).round().to(torch.uint8)


def _grey_batches(images01: torch.Tensor, batch: int):
    """The grey images (channel mean, [0, 1] floats, [B, 1, H, W]) of uint8 images or [0, 1] floats,
    `batch` at a time (the referees read thousands of outputs)."""
    for i in range(0, len(images01), batch):
        x = images01[i : i + batch]
        yield (x.float() / 255 if x.dtype == torch.uint8 else x.float()).mean(1, keepdim=True)


def laplacian_variance(images01: torch.Tensor, pool: int = 2, batch: int = 512) -> torch.Tensor:
    """Per-image variance of the 3x3 Laplacian of the grey image after a `pool` x `pool` average
    (uint8 images or [0, 1] floats)."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    values = [F.conv2d(F.avg_pool2d(grey, pool) if pool > 1 else grey, kernel).flatten(1).var(dim=1)
              for grey in _grey_batches(images01, batch)]
    return torch.cat(values) if values else torch.zeros(0)


def blur2x(images: torch.Tensor) -> torch.Tensor:
    """Down- then up-sample by 2 (bilinear), back to uint8: a known, visible loss of detail (the C2ST's
    and sharpness' positive control; expr_gan.evaluate's `blur2x` baseline)."""
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    return to_uint8(F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="bilinear", align_corners=False))


def sharpness(images: torch.Tensor, reference: torch.Tensor) -> float:
    """Detail of `images` relative to `reference` (mean Laplacian variances after a 2x2 average); 1.0 = as sharp."""
    ref = float(laplacian_variance(reference).mean())
    return float(laplacian_variance(images).mean()) / max(ref, 1e-12)


def pixel_noise(images01: torch.Tensor, batch: int = 512) -> float:
    """Mean standard deviation of the pixel noise in the grey images, in grey levels (0-255), by
    Immerkaer's estimator (Computer Vision and Image Understanding 64(2), 1996): the mean |response| to
    the difference of two Laplacians, which cancels smooth shading and most edges, so the estimate is
    the same on a sharp or a blurred face (grey noise of sigma 12 reads 12.0 on either; noise of sigma 12
    drawn per colour channel reads ~6.9 in the grey; the rendered faces themselves ~2.5 at 64 px, ~3.5
    at 32 px). The Laplacian's variance cannot say this: blur removes the face's own detail, so noise
    laid on a blurred face reads as little detail as a photo's."""
    kernel = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]).view(1, 1, 3, 3)
    values = [F.conv2d(grey, kernel).abs().flatten(1).mean(1) for grey in _grey_batches(images01, batch)]
    if not values:
        return float("nan")
    return float(torch.cat(values).mean()) * (torch.pi / 2) ** 0.5 / 6 * 255


def _view(images: torch.Tensor, pool: int) -> torch.Tensor:
    """What the C2ST classifier sees: uint8 images as [0, 1] floats after a `pool` x `pool` average."""
    x = images.float() / 255
    return F.avg_pool2d(x, pool) if pool > 1 else x


def _batches(real: torch.Tensor, fake: torch.Tensor, batch_size: int, pool: int, gen: torch.Generator):
    """Endless balanced batches: half real (label 1), half fake (label 0), random flips."""
    half = max(1, batch_size // 2)
    while True:
        r = torch.randint(len(real), (half,), generator=gen)
        f = torch.randint(len(fake), (half,), generator=gen)
        x = _view(torch.cat([real[r], fake[f]]), pool)
        flip = torch.rand(len(x), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        yield x, torch.cat([torch.ones(half, dtype=torch.long), torch.zeros(half, dtype=torch.long)])


def c2st_runs(real_train: torch.Tensor, fake_train: torch.Tensor, real_test: torch.Tensor, fake_test: torch.Tensor,
              seeds: int = 3, seed: int = 0, **settings) -> list[float]:
    """c2st_accuracy of `seeds` classifiers, seeded seed, seed + 1, ...: one classifier's accuracy moves
    with its seed (initial weights, batch order), so a realism number is their mean with their spread."""
    if seeds < 1:
        raise UsageError(f"c2st.seeds={seeds}: expected at least 1 classifier")
    return [c2st_accuracy(real_train, fake_train, real_test, fake_test, seed=seed + i, **settings) for i in range(seeds)]


def mean_and_spread(values: list[float]) -> tuple[float, float]:
    """(mean, sample standard deviation; 0.0 for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def c2st_accuracy(real_train: torch.Tensor, fake_train: torch.Tensor, real_test: torch.Tensor,
                  fake_test: torch.Tensor, steps: int = 500, batch_size: int = 64, width: int = 16, lr: float = 2e-3,
                  seed: int = 0, pool: int = 2, progress: str | None = None) -> float:
    """Held-out accuracy of a fresh classifier trained to tell `real_*` from `fake_*` (uint8 [N, C, H, W]).

    The test score is the balanced accuracy (mean of the accuracies on real and on fake images), so
    unequal sample sizes cannot move it off 0.5. `progress`: a label to show a progress bar under.
    """
    for name, t in (("real_train", real_train), ("fake_train", fake_train), ("real_test", real_test),
                    ("fake_test", fake_test)):
        if t.dtype != torch.uint8 or t.dim() != 4 or len(t) == 0:
            raise ValueError(f"c2st: {name} must be a non-empty uint8 [N, C, H, W] tensor, got {t.dtype} {tuple(t.shape)}")
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(seed)
        model = Referee(real_train.shape[1], 2, width=width, input_size=real_train.shape[-1] // pool)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
        model.train()
        batches = _batches(real_train, fake_train, batch_size, pool, gen)
        from expr_gan.progress import progress_range

        for _ in progress_range(steps, progress):
            x, y = next(batches)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        real_hits = (model.predict(_view(real_test, pool)) == 1).float().mean()
        fake_hits = (model.predict(_view(fake_test, pool)) == 0).float().mean()
    return float((real_hits + fake_hits) / 2)
