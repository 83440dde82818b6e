"""The referees: an expression judge and an identity embedding, trained on real training-identity images only.
Below the losses and the metrics: the metrics judge with them, ours' expression critic (losses/expression.py)
is one trained the same way with its own seed.

Both are ExpressionCNN classifiers trained with augmentation that includes blur and down-up sampling,
so a blurry output is judged by its expression, not called "eyes closed" for being blurry. They are
cached per dataset fingerprint and settings: every evaluation on the same data uses the same referee.
They are never used in training: they are the referees.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from expr_gan.io import atomic_write, load_cache_file
from expr_gan.timing import note, timed
from torch import nn

log = logging.getLogger(__name__)
REFEREE_VERSION = 3  # 3: dropout masks seeded too (2: from the global RNG)
MIN_STEPS = 200


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random flip, shift (up to 1/16 of the side), brightness/contrast, and blur or down-up sampling."""
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    theta = torch.zeros(b, 2, 3)
    scale = 1 + (torch.rand(b, generator=gen) - 0.5) * 0.12
    angle = (torch.rand(b, generator=gen) - 0.5) * 0.14
    theta[:, 0, 0], theta[:, 0, 1] = scale * torch.cos(angle), -scale * torch.sin(angle)
    theta[:, 1, 0], theta[:, 1, 1] = scale * torch.sin(angle), scale * torch.cos(angle)
    theta[:, :, 2] = (torch.rand(b, 2, generator=gen) - 0.5) * 0.25
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    x = x * (1 + (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.4) + (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.2
    blur = torch.rand(b, generator=gen)
    factor = 2 + int(torch.randint(0, 2, (1,), generator=gen))
    soft = F.interpolate(F.avg_pool2d(x, factor), size=(h, w), mode="bilinear", align_corners=False)
    x = torch.where((blur < 0.4)[:, None, None, None], soft, x)
    return x.clamp(0, 1)


def _block(cin: int, cout: int, stride: int) -> list[nn.Module]:
    k, p = (4, 1) if stride == 2 else (3, 1)
    return [nn.Conv2d(cin, cout, k, stride, p, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]


class Referee(nn.Module):
    """A compact CNN over display-range images ([0, 1]), resized to at most `input_size` px.

    Every level halves the size with a 4x4 stride-2 conv and refines with a 3x3 conv; the pooled
    features are the embedding (identity retrieval), a linear layer gives the logits.
    """

    def __init__(self, channels: int, num_classes: int, width: int = 32, input_size: int = 64):
        super().__init__()
        self.input_size = input_size
        widths = [width, width * 2, width * 4, width * 4]
        layers, cin = [], channels
        for i, w in enumerate(widths):
            layers += _block(cin, w, 2) + (_block(w, w, 1) if i < len(widths) - 1 else [])
            cin = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(cin, num_classes))

    def _prepare(self, images01: torch.Tensor) -> torch.Tensor:
        if images01.shape[-1] > self.input_size:
            images01 = F.interpolate(images01, size=(self.input_size, self.input_size), mode="area")
        return (images01 - 0.5) / 0.5

    def embed(self, images01: torch.Tensor) -> torch.Tensor:
        """L2-normalised pooled features (the identity embedding)."""
        return F.normalize(self.features(self._prepare(images01)).mean(dim=(2, 3)), dim=1)

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        """Logits for images in [0, 1]."""
        return self.head(self.features(self._prepare(images01)).mean(dim=(2, 3)))

    @torch.no_grad()
    def predict(self, images01: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """Class indices, in batches, in eval mode."""
        self.eval()
        return torch.cat([self(images01[i : i + batch]).argmax(1) for i in range(0, len(images01), batch)])

    @torch.no_grad()
    def embed_all(self, images01: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """Embeddings, in batches, in eval mode."""
        self.eval()
        return torch.cat([self.embed(images01[i : i + batch]) for i in range(0, len(images01), batch)])


def train_referee(images01: torch.Tensor, labels: torch.Tensor, num_classes: int, epochs: int = 30,
                  batch_size: int = 64, lr: float = 2e-3, width: int = 32, seed: int = 0,
                  progress: str | None = None) -> Referee:
    """Train a Referee on [0, 1] images with augmentation. `seed` fixes everything random: the initial
    weights, the batch order, the augmentation and the dropout masks (the global RNG is seeded inside a
    fork, so the weights do not depend on what the process did before, and the caller's RNG is left
    as it was). `progress`: a label to show a progress bar (with an estimate) under."""
    with torch.inference_mode(False), torch.enable_grad():  # callable from inside a validation loop
        return _train(images01.clone(), labels.clone(), num_classes, epochs, batch_size, lr, width, seed, progress)


def _train(images01, labels, num_classes, epochs, batch_size, lr, width, seed, progress) -> Referee:
    with torch.random.fork_rng():  # init and dropout draw from the global RNG: seed it, restore it after
        torch.manual_seed(seed)
        return _train_seeded(images01, labels, num_classes, epochs, batch_size, lr, width, seed, progress)


def _train_seeded(images01, labels, num_classes, epochs, batch_size, lr, width, seed, progress) -> Referee:
    from expr_gan.progress import progress_range

    gen = torch.Generator().manual_seed(seed)
    model = Referee(images01.shape[1], num_classes, width=width)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    # small datasets still get enough updates to converge (at least MIN_STEPS)
    steps = max(MIN_STEPS, epochs * ((len(images01) + batch_size - 1) // batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    batches = iter(())
    for _ in progress_range(steps, progress):
        idx = next(batches, None)
        if idx is None:  # a new epoch: a fresh order, without a last batch of fewer than 2 images
            order = torch.randperm(len(images01), generator=gen)
            batches = iter([order[i : i + batch_size] for i in range(0, len(order), batch_size)
                            if len(order[i : i + batch_size]) >= 2])
            idx = next(batches)
        loss = F.cross_entropy(model(augment(images01[idx], gen)), labels[idx], label_smoothing=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def referee_settings(referee: dict | None) -> tuple[dict, dict]:
    """(judge settings, identity settings) from the run config's `referee` group.

    The identity embedding needs far fewer epochs than the judge: on the embedded faces at 64 px
    (240 training people) it retrieves every held-out person's images after 4 epochs, while the judge
    needs 25 to stay at >= 0.99 on real held-out images (20: 0.989, 30: 1.000).
    """
    referee = dict(referee or {})
    identity_epochs = referee.pop("identity_epochs", None)
    judge = referee
    identity = {**referee, "epochs": identity_epochs} if identity_epochs is not None else dict(referee)
    return judge, identity


def referee_key(fingerprint: dict, kind: str, settings: dict) -> str:
    """Cache key of a referee: the data it was trained on plus its own settings."""
    blob = json.dumps({"v": REFEREE_VERSION, "kind": kind, "data": fingerprint, **settings}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def load_or_train_referee(cache_dir: str | Path | None, kind: str, fingerprint: dict, images01: torch.Tensor,
                          labels: torch.Tensor, num_classes: int, settings: dict | None = None) -> Referee:
    """The cached referee for this data and settings, trained (and cached atomically) when absent or corrupt.

    The global RNG is left as it was found: a run must not depend on whether its referees and critic
    were cached (training one draws dropout masks, loading one draws initial weights)."""
    with torch.random.fork_rng(), timed(f"referee/{kind}" if kind in ("judge", "identity") else kind):
        return _load_or_train_referee(cache_dir, kind, fingerprint, images01, labels, num_classes, settings)


def _load_or_train_referee(cache_dir, kind, fingerprint, images01, labels, num_classes, settings) -> Referee:
    settings = {"epochs": 30, "width": 32, "seed": 0, **(settings or {})}
    path = Path(cache_dir) / f"{kind}-{referee_key(fingerprint, kind, settings)}.pt" if cache_dir else None
    stored = load_cache_file(path, {"state_dict", "channels", "num_classes", "width"}, "referee cache") \
        if path is not None and path.exists() else None
    if stored is not None:
        model = Referee(stored["channels"], stored["num_classes"], width=stored["width"])
        try:
            model.load_state_dict(stored["state_dict"])
            note(cached=True)
            return model.eval()
        except RuntimeError as err:  # the weights of another architecture (stale): retrain
            log.warning("referee cache %s is stale (%s); retraining", path, " ".join(str(err).split())[:200])
    label = f"training the {kind} network on {len(images01)} real training-people images (cached after)"
    note(cached=False, images=len(images01))
    model = train_referee(images01, labels, num_classes, epochs=settings["epochs"], width=settings["width"],
                          seed=settings["seed"], progress=label)
    if path is not None:
        payload = {"state_dict": model.state_dict(), "channels": images01.shape[1], "num_classes": num_classes,
                   "width": settings["width"]}
        atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return model
