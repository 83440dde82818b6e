"""An expression critic used as a training loss: a classifier trained separately on real images.

It is NOT the judge of expr_gan.metrics (the referee): it has its own width, seed and weights,
is trained by its own call, and is cached under its own name ("critic"). Its weights are not part
of the model's checkpoint: it is rebuilt (or loaded from the cache) when training starts.
"""
from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

from expr_gan.losses.term import GeneratorStep, LossTerm

log = logging.getLogger(__name__)


class ExpressionCritic(LossTerm):
    """Cross-entropy of the critic's call on G's outputs (decoded to [0, 1]) against the target expression."""

    def __init__(self, weight: float = 1.0, width: int = 24, epochs: int = 20, seed: int = 1):
        super().__init__(weight)
        self.settings = {"width": width, "epochs": epochs, "seed": seed}
        self._critic: list = []  # held outside the module tree: never in a checkpoint

    def prepare(self, datamodule, wiring_check: bool = False) -> None:
        """Train (or load from the cache) the critic on the datamodule's training people's real images.

        `wiring_check` (fast_dev_run): an untrained critic of the same shape, not cached: the term's
        code runs in seconds instead of waiting a minute for a critic whose calls one batch cannot use."""
        from expr_gan.referees import Referee, load_or_train_referee

        datamodule.setup()
        faces = datamodule.faces
        if wiring_check:
            log.info("fast_dev_run: the expression critic is untrained (a wiring check)")
            with torch.random.fork_rng():  # as a trained one, it leaves the global RNG as it found it
                torch.manual_seed(self.settings["seed"])
                critic = Referee(faces.images.shape[1], faces.num_expressions, width=self.settings["width"])
            self._critic = [critic.eval().requires_grad_(False)]
            return
        train_ids = torch.unique(faces.identity[datamodule.train_pairs[:, 0]])
        mask = torch.isin(faces.identity, train_ids)
        critic = load_or_train_referee(datamodule.cache_dir, "critic", datamodule.fingerprint(),
                                       faces.images[mask].float() / 255, faces.expression[mask],
                                       faces.num_expressions, self.settings)
        self._critic = [critic.eval().requires_grad_(False)]

    def forward(self, step: GeneratorStep):
        if not self._critic:
            raise RuntimeError("ExpressionCritic.prepare(datamodule) must run before the term is used")
        critic = self._critic[0].to(step.fake.device)
        return F.cross_entropy(critic(step.decode(step.fake)), step.batch.target_expr)
