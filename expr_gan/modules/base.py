"""What every model family shares: the translate() contract, sample grids and their files."""
from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch

from expr_gan.visual import expression_grid


class DivergenceError(RuntimeError):
    """A loss term became NaN or infinite."""


class ExpressionEditModule(pl.LightningModule):
    """Base class: subclasses implement `translate(source, onehot)` and their training step.

    At the end of each validation the fixed sample people are translated to every expression; the
    grid goes to TensorBoard (`samples/grid`) and to `<run dir>/samples/epoch_XXXX.png`.
    """

    def __init__(self, optimizer=None, grid_every_n_epochs: int = 1):
        super().__init__()
        self.optimizer_factory = optimizer
        self.grid_every_n_epochs = grid_every_n_epochs
        self.on_nonfinite = "stop"  # or "skip"; set from the run config (`on_nonfinite`)
        self.nonfinite_skipped = 0

    def check_finite(self, losses: dict, phase: str = "G") -> bool:
        """True when every loss term is finite; otherwise stop with a message naming the batch and the
        term (policy `stop`), or count the batch and tell the caller to skip its update (`skip`)."""
        bad = [name for name, value in losses.items() if not torch.isfinite(value.detach()).all()]
        if not bad:
            return True
        if self.on_nonfinite == "skip":
            self.nonfinite_skipped += 1
            self.log("train/nonfinite_skipped", float(self.nonfinite_skipped))
            return False
        raise DivergenceError(
            f"non-finite {phase} loss term {bad[0]!r} (= {float(losses[bad[0]])}) at batch "
            f"{self.trainer.fit_loop.total_batch_idx} (global step {self.global_step}); the last good checkpoint "
            f"stays in {self.trainer.default_root_dir}/checkpoints; on_nonfinite=skip skips such batches instead")

    def translate(self, source: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Edit `source` [B, C, H, W] to the expressions `onehot` [B, E]; network pixel range in and out."""
        raise NotImplementedError

    def grid_extra_rows(self, source: torch.Tensor, onehot: torch.Tensor) -> list[torch.Tensor]:
        """Extra per-target rows for the sample grid (e.g. attention masks); none by default."""
        return []

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """Instantiate the configured optimizer (a `functools.partial` from Hydra) on `params`."""
        if self.optimizer_factory is None:
            raise ValueError("model.optimizer is not set")
        return self.optimizer_factory(params)

    def on_validation_epoch_end(self) -> None:
        trainer = self.trainer
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.datamodule is None:
            return
        if self.current_epoch % self.grid_every_n_epochs and not trainer.fast_dev_run:
            return
        self.log_sample_grid()

    def log_sample_grid(self) -> torch.Tensor:
        """Render the grid of the datamodule's fixed sample people; log it and save a PNG."""
        from expr_gan.data.synthetic import save_png

        dm = self.trainer.datamodule
        sample = {k: v.to(self.device) for k, v in dm.sample_batch().items()}
        was_training = self.training
        self.eval()
        grid = expression_grid(self.translate, sample, dm.pixels.decode, self.grid_extra_rows)
        self.train(was_training)
        for logger in self.loggers:
            if hasattr(logger.experiment, "add_image"):
                logger.experiment.add_image("samples/grid", grid, self.global_step)
        out = Path(self.trainer.default_root_dir) / "samples" / f"epoch_{self.current_epoch:04d}.png"
        save_png(grid, out)
        return grid
