"""The metric registry: each metric of the evaluator is one file in `expr_gan/metrics/kinds/`.

A file defines `METRIC = Metric(...)`: its name, the values it reports (`columns`, in table order),
what it needs beyond images (`referees`: the judge and the identity net; `c2st`: training pairs for
the C2ST classifier), its place in tables, a version (raise it when its values change meaning:
cached evaluations are then recomputed) and a `Measure` class. The evaluator runs every metric
whose needs it meets (`Evaluator.evaluate`); `evaluate`, `report`, the training callback and the
replication read their columns and version from here, so adding a metric is adding one file.

A Measure sees the pairs batch by batch (`batch`, optional) and then the whole run (`result`),
which can also produce outputs for other pairs or targets (the C2ST's training pairs, every
expression of one source).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import torch

NEEDS = ("referees", "c2st")


@dataclass(frozen=True)
class Batch:
    """One batch of pairs: indices into the face set, the images in [0, 1], the outputs in [0, 1]."""

    src: torch.Tensor
    tgt: torch.Tensor
    src01: torch.Tensor
    tgt01: torch.Tensor
    out01: torch.Tensor
    target_expr: torch.Tensor


@dataclass
class Run:
    """Everything a metric may need after the batches: the evaluator, the pairs, every output
    (uint8, pair order) and what made them (`outputs(src, tgt)` gives more of the same kind)."""

    evaluator: object
    pairs: torch.Tensor
    outputs: torch.Tensor
    make: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (source indices, target indices) -> [0, 1]
    translate: Callable | None = None
    pixels: object = None
    baseline: str | None = None
    batch_size: int = 64
    max_sources: int = 32
    device: str | torch.device = "cpu"


class Measure:
    """What a metric computes; `batch` is called per batch of pairs, `result` once at the end."""

    def __init__(self, evaluator, pairs: torch.Tensor):
        self.evaluator, self.pairs = evaluator, pairs

    def batch(self, b: Batch) -> None:
        """Accumulate over one batch (nothing by default)."""

    def result(self, run: Run) -> dict:
        """The metric's values: every column, plus any extra it reports (e.g. a confusion matrix)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Metric:
    """One registered metric (see the module's docstring)."""

    name: str
    columns: tuple[str, ...]
    measure: type[Measure]
    order: int
    needs: frozenset = field(default_factory=frozenset)
    shown: tuple[str, ...] | None = None  # the columns tables show (None: all)
    version: int = 1

    def __post_init__(self):
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ValueError(f"metric {self.name}: unknown needs {sorted(unknown)}; expected some of {NEEDS}")


@lru_cache(maxsize=1)
def metrics() -> tuple[Metric, ...]:
    """Every metric in expr_gan/metrics/kinds/, in table order; two files claiming one column is an error."""
    from expr_gan.metrics import kinds

    found = []
    for info in pkgutil.iter_modules(kinds.__path__):
        module = importlib.import_module(f"{kinds.__name__}.{info.name}")
        if not hasattr(module, "METRIC"):
            raise ValueError(f"expr_gan/metrics/kinds/{info.name}.py defines no METRIC")
        found.append(module.METRIC)
    columns = [c for m in found for c in m.columns]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise ValueError(f"metric columns reported by two metrics: {twice}")
    return tuple(sorted(found, key=lambda m: (m.order, m.name)))


def metric_keys(available=NEEDS) -> tuple[str, ...]:
    """The columns of every metric whose needs are among `available`."""
    return tuple(c for m in metrics() if set(m.needs) <= set(available) for c in m.columns)


def table_columns() -> tuple[str, ...]:
    """The columns evaluate's and report's tables show, in order."""
    return tuple(c for m in metrics() for c in (m.shown if m.shown is not None else m.columns))


def version() -> str:
    """Every metric's name and version: an evaluation cached under another one is recomputed."""
    return " ".join(f"{m.name}:{m.version}" for m in sorted(metrics(), key=lambda m: m.name))
