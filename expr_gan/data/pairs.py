"""Pairs (source image, target image) of the same person, pair policies and identity splits."""
from __future__ import annotations

import torch

from expr_gan.errors import UsageError

PAIR_POLICIES = ("all", "from_neutral", "to_neutral")
SPLITS = ("identity", "pair", "pair_heldout")


def make_pairs(identity: torch.Tensor, expression: torch.Tensor, policy: str = "all",
               neutral: int = 0) -> torch.Tensor:
    """All ordered (source index, target index) pairs of one person with different expressions.

    `all`: every ordered pair; `from_neutral`: sources are neutral; `to_neutral`: targets are neutral.
    Returns a [P, 2] int64 tensor.
    """
    if policy not in PAIR_POLICIES:
        raise UsageError(f"data.pair_policy={policy!r}: expected one of {', '.join(PAIR_POLICIES)}")
    same_person = identity[:, None] == identity[None, :]
    different_expr = expression[:, None] != expression[None, :]
    ok = same_person & different_expr
    if policy == "from_neutral":
        ok &= (expression == neutral)[:, None]
    elif policy == "to_neutral":
        ok &= (expression == neutral)[None, :]
    return ok.nonzero()


def split_identities(identities: torch.Tensor, fractions, seed: int) -> list[torch.Tensor]:
    """Shuffle the distinct identities with `seed` and cut them into len(fractions) disjoint groups.

    Each non-zero fraction gets at least one identity when there are enough.
    """
    people = torch.unique(identities)
    order = people[torch.randperm(len(people), generator=torch.Generator().manual_seed(seed))]
    return _cut(order, fractions)


def _cut(items: torch.Tensor, fractions) -> list[torch.Tensor]:
    fractions = [float(f) for f in fractions]
    if any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise UsageError(f"data.split_fractions={fractions}: expected non-negative numbers with a positive sum")
    total, n = sum(fractions), len(items)
    counts = [int(n * f / total) for f in fractions]
    for i, f in enumerate(fractions):  # give every requested split at least one item
        if f > 0 and counts[i] == 0 and n > sum(counts):
            counts[i] = 1
    counts[0] += n - sum(counts)
    return list(torch.split(items, counts))


def split_pairs(pairs: torch.Tensor, identity: torch.Tensor, fractions, seed: int, how: str = "identity") -> list[torch.Tensor]:
    """Split pairs into train / val / test.

    `identity`: disjoint people (the honest protocol); `pair`: the report's random per-pair split
    (the same person may appear in train and test); `pair_heldout`: both at once. The people are cut
    as `identity` cuts them; those of the last group (fractions[2]) are held out entirely and
    returned as the validation split, and the pairs of everyone else are split at random per pair
    into train and test in the ratio fractions[0] : fractions[1] ([0.45, 0.45, 0.1]: the report's
    50-50, and 10 % of the people held out). One run is then scored on the report's own split (test)
    and on people it never saw (val). Cuts with the same last share hold out the same people, so
    with 0.1 they are the people `identity`'s default [0.8, 0.1, 0.1] tests on.
    """
    if how == "identity":
        groups = split_identities(identity, fractions, seed)
        owner = identity[pairs[:, 0]]
        return [pairs[torch.isin(owner, g)] for g in groups]
    if how == "pair":
        order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed))
        return [pairs[idx] for idx in _cut(order, fractions)]
    if how == "pair_heldout":
        if len(fractions) != 3 or float(fractions[2]) <= 0:
            raise UsageError(f"data.split=pair_heldout: data.split_fractions={list(fractions)}: expected "
                             "[train pairs, test pairs, held-out people] with a positive last share")
        heldout = split_identities(identity, fractions, seed)[2]
        outside = torch.isin(identity[pairs[:, 0]], heldout)
        inside = pairs[~outside]
        order = torch.randperm(len(inside), generator=torch.Generator().manual_seed(seed))
        train, test = _cut(order, [fractions[0], fractions[1]])
        return [inside[train], pairs[outside], inside[test]]
    raise UsageError(f"data.split={how!r}: expected one of {', '.join(SPLITS)}")
