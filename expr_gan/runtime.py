"""The process-wide settings a training run changes, scoped to the run and restored after it.

`train(cfg)` and the benchmark run inside `run_settings(...)`; importing expr_gan changes nothing
process-wide (tests/test_train.py checks the warning filters, cudnn.benchmark, matmul precision and the gc state).
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

# (message regex, category) of warnings that say nothing about the user's run
KNOWN_WARNINGS = (
    # our on_after_batch_transfer (channels_last batches) is meant to take precedence over the datamodule's
    (r".*overridden `on_after_batch_transfer` in `LightningModule`", Warning),
    # Lightning cannot see that our data order resumes mid-epoch: the datamodule's EpochSampler and
    # callbacks/resume.py do it, bitwise (tests/test_resume.py, tests/test_checkpoints.py)
    (r".*resuming from a checkpoint that ended before the epoch ended", Warning),
    # Lightning 2.6's own pytree helper calls a torch API deprecated in 2.14: noise in every run's output
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
)


@contextlib.contextmanager
def run_settings(cudnn_benchmark: bool = False) -> Iterator[None]:
    """Within: the known warnings silenced, `torch.backends.cudnn.benchmark` as asked (the fastest conv
    algorithms for fixed shapes) and float32 matmuls at "high" precision (TF32 on GPUs that have it);
    all three as they were on the way out, however it is left."""
    import torch

    benchmark, precision = torch.backends.cudnn.benchmark, torch.get_float32_matmul_precision()
    with warnings.catch_warnings():
        for message, category in KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        torch.backends.cudnn.benchmark = bool(cudnn_benchmark) or benchmark
        torch.set_float32_matmul_precision("high")
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = benchmark
            torch.set_float32_matmul_precision(precision)
