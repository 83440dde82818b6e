"""BatchBudget: stop after N training batches, whatever the family."""
from __future__ import annotations

import pytorch_lightning as pl


class BatchBudget(pl.Callback):
    """Stop training after `max_batches` training batches (None: no limit).

    Lightning's `max_steps` counts optimizer steps, and a GAN takes several per batch; this budget
    means what users expect whatever the family. Counted by the module (`batches_trained`), so a
    resumed run continues the count.
    """

    def __init__(self, max_batches: int | None = None):
        if max_batches is not None and max_batches < 1:
            raise ValueError(f"max_batches={max_batches}: expected a positive number or null")
        self.max_batches = max_batches

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # set as the last batch starts (it still runs): its step then sees should_stop and logs its
        # loss terms, so the run's final train/ values are this batch's (modules/base.py log_terms).
        # The module counts a batch after the callbacks' hook, so this one is number batches_trained + 1.
        if self.max_batches is not None and pl_module.batches_trained + 1 >= self.max_batches:
            trainer.should_stop = True
