"""The training order: a seeded shuffle per epoch that can resume in the middle of an epoch.

The order and the flip coins of epoch `e` depend only on (seed, e), never on the global RNG, so a
run resumed from a checkpoint sees exactly the batches (and flips) the uninterrupted run saw, and
the data pipeline does not perturb the training RNG (prefetching happens before the step it feeds).
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DistributedSampler, Sampler

from expr_gan.errors import UsageError


class EpochSampler(Sampler):
    """Yields `(index, flip)` for every pair once per epoch, in a (seed, epoch)-determined order.

    `set_epoch(e)` selects the epoch (Lightning calls it before each epoch; without it, e.g. inside
    a distributed wrapper, each full pass advances the epoch itself). `resume(epoch, done)` makes the
    next pass start after the first `done` items of that epoch.
    """

    def __init__(self, num_items: int, seed: int = 0, flip: bool = False):
        self.num_items, self.seed, self.flip = num_items, seed, flip
        self.epoch, self._skip = 0, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next pass yields."""
        if epoch != self.epoch:
            self.epoch, self._skip = epoch, 0

    def resume(self, epoch: int, done: int) -> None:
        """The next pass is `epoch`'s, without its first `done` items (already trained on)."""
        if not 0 <= done <= self.num_items:
            raise UsageError(f"cannot resume after {done} items of an epoch of {self.num_items}")
        self.epoch, self._skip = epoch, done

    def order(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(permutation, flip coins) of `epoch`."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(self.num_items, generator=gen)
        coins = torch.rand(self.num_items, generator=gen) < 0.5 if self.flip else torch.zeros(self.num_items, dtype=torch.bool)
        return perm, coins

    def __iter__(self) -> Iterator[tuple[int, bool]]:
        perm, coins = self.order(self.epoch)
        start, self._skip = self._skip, 0
        items = list(zip(perm[start:].tolist(), coins[start:].tolist()))
        self.epoch += 1  # the default for the next pass; set_epoch / resume override it
        return iter(items)

    def __len__(self) -> int:
        return self.num_items


class ShardSampler(DistributedSampler):
    """One process's share of an evaluation split under DDP: items rank, rank + W, rank + 2W, ... in
    order, without the padding of torch's DistributedSampler (which repeats items so every process
    gets as many: repeated pairs would enter every val/ mean). A DistributedSampler, so Lightning
    keeps it instead of putting its own padding one in its place."""

    def __init__(self, num_items: int, num_replicas: int, rank: int):
        super().__init__(range(num_items), num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)
        self.items = range(rank, num_items, num_replicas)

    def __iter__(self) -> Iterator[int]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
