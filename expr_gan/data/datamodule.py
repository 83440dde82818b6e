"""One LightningDataModule of paired faces for every model family."""
from __future__ import annotations

import logging

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from expr_gan.errors import DataError, UsageError
from expr_gan.data.align import aligned_pair_targets, points_to_source
from expr_gan.data.faceset import FaceSet
from expr_gan.data.pairs import make_pairs, split_pairs
from expr_gan.data.pixels import PixelRange
from expr_gan.data.sampler import EpochSampler, ShardSampler
from expr_gan.timing import timed

log = logging.getLogger(__name__)


def _already_batched(batch):
    """collate_fn for datasets whose __getitems__ returns a whole batch."""
    return batch


class PairDataset(Dataset):
    """(source, target expression, target) pairs over in-memory uint8 images.

    Whole batches are gathered with one tensor index (`__getitems__`), so no per-sample work or
    file decoding happens during training. Items are pair indices, or `(index, flip)` tuples from
    the training sampler (which owns the random choices, see data/sampler.py).
    """

    def __init__(self, faces: FaceSet, pairs: torch.Tensor, pixels: PixelRange, aligned: torch.Tensor | None = None,
                 points: torch.Tensor | None = None):
        self.faces, self.pairs, self.pixels = faces, pairs, pixels
        self.aligned = aligned  # uint8 aligned targets per pair (align.aligned_pair_targets) or None
        self.points = points  # [N, K, 2] named points per image (the renderer's, data/face_points.py) or None

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitems__(self, items: list) -> dict:
        if items and isinstance(items[0], (tuple, list)):
            index_and_flip = torch.tensor(items)
            index, coin = index_and_flip[:, 0], index_and_flip[:, 1].bool()
        else:
            index, coin = torch.as_tensor(items), None
        pairs = self.pairs[index]
        src, tgt = pairs[:, 0], pairs[:, 1]
        parts = [self.faces.images[src], self.faces.images[tgt]]
        if self.aligned is not None:  # the target warped into the source's pose by the eyes (see data/align.py)
            parts.append(self.aligned[index])
        images = torch.stack(parts)  # [2 or 3, B, C, H, W]: one copy, one encode
        if coin is not None and coin.any():  # one coin per pair: source and targets flip together
            images[:, coin] = images[:, coin].flip(-1)
        images = self.pixels.encode(images)
        target_expr = self.faces.expression[tgt]
        batch = {"source": images[0], "target": images[1],
                 "target_expr": target_expr, "source_expr": self.faces.expression[src],
                 "target_onehot": torch.nn.functional.one_hot(target_expr, self.faces.num_expressions).float(),
                 "identity": self.faces.identity[src]}
        if self.aligned is not None:
            batch["target_aligned"] = images[2]
        if self.points is not None:
            batch.update(self._pair_points(src, tgt, coin, images.shape[-1]))
        return batch

    def _pair_points(self, src: torch.Tensor, tgt: torch.Tensor, coin, width: int) -> dict:
        """`source_points` and `target_points` [B, K, 2]: the target's in the frame of the target the
        batch gives (the aligned one, when it gives one), mirrored with the images they belong to."""
        source, target = self.points[src].clone(), self.points[tgt].clone()
        if self.aligned is not None:
            target = points_to_source(target, self.faces.eyes[src], self.faces.eyes[tgt])
        if coin is not None and coin.any():  # continuous coordinates: x -> width - x
            source[coin, :, 0], target[coin, :, 0] = width - source[coin, :, 0], width - target[coin, :, 0]
        return {"source_points": source, "target_points": target}

    def __getitem__(self, index: int) -> dict:
        return {k: v[0] for k, v in self.__getitems__([index]).items()}


class FacePairsDataModule(pl.LightningDataModule):
    """Loads a source once (through its cache), builds same-person pairs and splits them.

    `split="identity"` keeps train / val / test people disjoint; `split="pair"` is the report's
    random per-pair split. A validation fraction of 0 (the report's 50-50 train / test) validates on
    the test pairs. `sample_batch()` gives the fixed validation people used for grids.
    """

    def __init__(self, source, pixels: PixelRange | None = None, size: int = 64, channels: int = 3,
                 num_expressions: int = 6, pair_policy: str = "all", split: str = "identity",
                 split_fractions=(0.8, 0.1, 0.1), batch_size: int = 32, num_workers: int = 0,
                 flip: bool = False, num_samples: int = 6, seed: int = 0, cache_dir: str | None = None,
                 align_targets: bool = False, root=None, strict=None, landmarks=None, expressions=None,
                 num_identities=None):
        # root, strict, landmarks, expressions, num_identities: data-level keys (conf/data/*.yaml) that the
        # source's config reads through interpolation; named here, not taken as **kwargs, so a key no
        # source reads (`+data.sise=32`) is an error naming it instead of a setting silently ignored
        super().__init__()
        self.source, self.pixels = source, pixels or PixelRange()
        self.size, self.channels, self.num_expressions = size, channels, num_expressions
        self.pair_policy, self.split, self.split_fractions = pair_policy, split, tuple(split_fractions)
        self.batch_size, self.num_workers, self.flip = batch_size, num_workers, flip
        self.num_samples, self.seed, self.cache_dir = num_samples, seed, cache_dir
        self.align_targets = align_targets
        if batch_size < 1:
            raise UsageError(f"data.batch_size={batch_size}: expected >= 1")
        self.faces: FaceSet | None = None
        self._aligned_cache: dict = {}
        self._points: torch.Tensor | None = None  # the source's named points, computed when a model reads them

    def setup(self, stage: str | None = None) -> None:
        if self.faces is not None:
            return
        faces = self.source.load(self.cache_dir)
        _, c, h, w = faces.images.shape
        if (c, h, w) != (self.channels, self.size, self.size):
            raise UsageError(f"data: the source produced {c}x{h}x{w} images but data.channels={self.channels} "
                             f"and data.size={self.size}")
        if faces.num_expressions != self.num_expressions:
            raise UsageError(f"data.num_expressions={self.num_expressions} but the source has "
                             f"{faces.num_expressions} expressions: {', '.join(faces.expression_names)}")
        neutral = faces.expression_names.index("neutral") if "neutral" in faces.expression_names else 0
        pairs = make_pairs(faces.identity, faces.expression, self.pair_policy, neutral)
        self.train_pairs, self.val_pairs, self.test_pairs = split_pairs(
            pairs, faces.identity, self.split_fractions, self.seed, self.split)
        if self.split_fractions[1] == 0:  # no validation split asked for (the report's 50-50): validate on test
            self.val_pairs = self.test_pairs
        if len(self.train_pairs) == 0 or len(self.val_pairs) == 0:
            raise DataError(f"data: {len(self.train_pairs)} train and {len(self.val_pairs)} val pairs; "
                             "need more identities or different data.split_fractions")
        train_images = torch.unique(self.train_pairs.flatten())
        self.pixels.fit(faces.images[train_images])
        # one sampler for the whole fit: checkpoints record its position (expr_gan/callbacks/resume.py)
        self.train_sampler = EpochSampler(len(self.train_pairs), self.seed, self.flip)
        self.faces = faces
        log.info("data: %d images, pairs train/val/test = %d/%d/%d", len(faces), len(self.train_pairs),
                 len(self.val_pairs), len(self.test_pairs))

    def fingerprint(self) -> dict:
        """What determines the images and the split (keys the referee caches)."""
        return {"source": self.source.settings(), "split": self.split, "fractions": list(self.split_fractions),
                "seed": self.seed, "pair_policy": self.pair_policy}

    @property
    def expression_names(self) -> tuple[str, ...]:
        """Names of the expression classes, in one-hot order."""
        return self.source.expression_names

    def _gathers_aligned(self) -> bool:
        """Whether batches carry eye-aligned targets: `align_targets` is on and the model being
        trained reads them (`uses_aligned_targets`; without a trainer, e.g. in the evaluator, yes)."""
        model = self.trainer.lightning_module if self.trainer is not None else None
        return self.align_targets and getattr(model, "uses_aligned_targets", True)

    def _gathers_points(self) -> bool:
        """Whether batches carry the named points of both images: the source can give them (`points()`,
        the renderer's) and the model being trained reads them (`uses_points`, a flow supervised at them)."""
        model = self.trainer.lightning_module if self.trainer is not None else None
        return hasattr(self.source, "points") and getattr(model, "uses_points", False)

    def _loader(self, split: str, sampler: EpochSampler | None = None) -> DataLoader:
        pairs = getattr(self, f"{split}_pairs")
        aligned = self._gathers_aligned()
        if self._gathers_points() and self._points is None:  # once, and only for a model that reads them
            self._points = self.source.points()
        points = self._points if self._gathers_points() else None
        if aligned and split not in self._aligned_cache:  # once per split: batches then only gather
            with timed(f"data/align_targets/{split}", pairs=len(pairs)):
                self._aligned_cache[split] = aligned_pair_targets(self.faces.images, self.faces.eyes, pairs)
        # its own generator: starting an epoch's iterator draws a worker seed, which must not move
        # the global RNG that training steps draw from (exact resume, see expr_gan/callbacks/resume.py)
        dataset = PairDataset(self.faces, pairs, self.pixels, self._aligned_cache[split] if aligned else None, points)
        # a last training batch of one pair is dropped: batch norm cannot normalise a single 1x1 map
        # (the joint family's head at 32 px), and one pair adds nothing to an epoch
        drop_last = sampler is not None and len(pairs) % self.batch_size == 1
        if sampler is None and self.trainer is not None and self.trainer.world_size > 1:
            # DDP evaluation: each process its own pairs, none repeated (val/ means are over the split)
            sampler = ShardSampler(len(pairs), self.trainer.world_size, self.trainer.global_rank)
        return DataLoader(dataset, batch_size=self.batch_size,
                          sampler=sampler, num_workers=self.num_workers, collate_fn=_already_batched,
                          persistent_workers=self.num_workers > 0, drop_last=drop_last,
                          generator=torch.Generator().manual_seed(self.seed))

    def train_dataloader(self) -> DataLoader:
        """Shuffled training pairs in a resumable, seeded order (`self.train_sampler`)."""
        return self._loader("train", self.train_sampler)

    def val_dataloader(self) -> DataLoader:
        """Validation pairs in a fixed order, unflipped."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test pairs (validation pairs when the split has none) in a fixed order, unflipped."""
        return self._loader("test" if len(self.test_pairs) else "val")

    def sample_batch(self) -> dict:
        """Fixed, seeded validation people for sample grids.

        Returns `source` [S, C, H, W] (a neutral image where the person has one), `targets`
        [S, E, C, H, W] (the person's real image of each expression) and `target_mask` [S, E].
        """
        self.setup()
        faces = self.faces
        people = torch.unique(faces.identity[self.val_pairs[:, 0]])
        gen = torch.Generator().manual_seed(self.seed + 1)
        people = people[torch.randperm(len(people), generator=gen)[: self.num_samples]].sort().values
        e_count, (c, h, w) = faces.num_expressions, faces.images.shape[1:]
        targets = torch.zeros(len(people), e_count, c, h, w, dtype=torch.uint8)
        mask = torch.zeros(len(people), e_count, dtype=torch.bool)
        sources = []
        for row, person in enumerate(people.tolist()):
            mine = (faces.identity == person).nonzero().flatten()
            for i in mine.tolist():
                e = int(faces.expression[i])
                if not mask[row, e]:
                    targets[row, e], mask[row, e] = faces.images[i], True
            first = mine[faces.expression[mine] == 0]
            sources.append(faces.images[first[0] if len(first) else mine[0]])
        return {"source": self.pixels.encode(torch.stack(sources)), "targets": self.pixels.encode(targets),
                "target_mask": mask, "identity": people}
