"""Test-only components instantiated from configs (`loss._target_=helpers.NaNAfterLoss`)."""
import pytorch_lightning as pl
import torch
from torch import nn


class NaNAfterLoss(nn.Module):
    """L1 that turns NaN from call number `after` on (a divergence injected into a real run)."""

    def __init__(self, after: int = 3):
        super().__init__()
        self.after, self.calls = after, 0

    def forward(self, output, target):
        self.calls += 1
        loss = (output - target).abs().mean()
        return loss * float("nan") if self.calls > self.after else loss



class RecordBatchKeys(pl.Callback):
    """A callback (`+callbacks.keys._target_=helpers.RecordBatchKeys`) noting the keys of training batches."""

    seen: set = set()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        RecordBatchKeys.seen.update(batch)


class WorseningL1(nn.Module):
    """L1 plus the number of calls so far: no effect on gradients, but every validation scores worse
    than the one before, whatever the model learns (a monitored metric that never improves again)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, output, target):
        self.calls += 1
        return (output - target).abs().mean() + float(self.calls)


class ImprovingL1(nn.Module):
    """L1 plus 100 / (calls so far, over every instance in the process): every validation scores better
    than the one before, a resumed run's included (a monitor whose final epoch always improves)."""

    calls = 0

    def forward(self, output, target):
        ImprovingL1.calls += 1
        return (output - target).abs().mean() + 100.0 / ImprovingL1.calls


class RecordBatchIndices(pl.Callback):
    """(epoch, batch_idx) of every training batch (`+callbacks.record._target_=helpers.RecordBatchIndices`)."""

    seen: list = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        RecordBatchIndices.seen.append((trainer.current_epoch, batch_idx))



class RecordSaves(pl.Callback):
    """`batches_trained` at every checkpoint write, and the data position the file records
    (`+callbacks.saves._target_=helpers.RecordSaves`)."""

    at: list = []
    positions: list = []
    completed: list = []  # the batches Lightning's loop state counts as completed

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        RecordSaves.at.append(pl_module.batches_trained)
        position = checkpoint.get("expr_gan_resume") or {}
        RecordSaves.positions.append((position.get("epoch"), position.get("batches_done")))
        RecordSaves.completed.append(completed_batches(checkpoint))


class TrainingCheck(pl.Callback):
    """Did the run train? (`+callbacks.check._target_=helpers.TrainingCheck`; the last run's is `TrainingCheck.last`)

    The family's reconstruction loss on one fixed validation batch (eval mode) when training starts and
    when it ends, and how far the weights of the networks that translate moved (`moved`): the
    generator, or stage 1 and 2 (not a GAN's discriminator, critic or EMA copy, which move on their own).
    """

    TRANSLATING = ("generator.", "net.", "refiner.")

    last = None

    def _loss(self, module) -> float:
        was = module.training
        module.eval()
        with torch.no_grad():
            value = float(module.eval_loss_rec({k: v.to(module.device) for k, v in self.batch.items()}))
        module.train(was)
        return value

    def on_train_start(self, trainer, pl_module):
        self.batch = next(iter(trainer.datamodule.val_dataloader()))
        self.before = self._loss(pl_module)
        self.start = {n: p.detach().clone() for n, p in pl_module.named_parameters() if n.startswith(self.TRANSLATING)}
        assert self.start, "no translating network found"

    def on_train_end(self, trainer, pl_module):
        self.after = self._loss(pl_module)
        params = dict(pl_module.named_parameters())
        self.moved = sum(float((params[n].detach() - q).abs().sum()) for n, q in self.start.items())
        TrainingCheck.last = self


def assert_trained(metrics: dict, check: "TrainingCheck | None" = None, loss_down: bool = False) -> None:
    """Every logged value is finite; with `check`, the weights moved (and, with `loss_down`, the loss fell)."""
    import math

    bad = {k: v for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)}
    assert not bad, f"non-finite metrics: {bad}"
    assert "val/loss_rec" in metrics
    if check is not None:
        assert check.moved > 0, "no weight of the translating networks changed: nothing trained"
        if loss_down:
            assert check.after < check.before, f"loss on a fixed batch went {check.before:.4f} -> {check.after:.4f}"


class GradNorms(pl.Callback):
    """The total gradient norm each optimizer steps with (`+callbacks.norms._target_=helpers.GradNorms`)."""

    norms: list = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if grads:
            GradNorms.norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))


# Lightning's checkpoint layout, read in one place (a release that changes it fails here, not in ten tests)
def best_record(ckpt: dict) -> dict:
    """The state of the ModelCheckpoint callback stored in a checkpoint (best_model_path, best_model_score, monitor)."""
    return ckpt["callbacks"][next(k for k in ckpt["callbacks"] if k.startswith("ModelCheckpoint"))]


def batch_progress(ckpt: dict) -> dict:
    """Lightning's count of training batches over the run: ready, started, processed, completed."""
    return ckpt["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]


def completed_batches(ckpt: dict) -> int:
    """Training batches Lightning's fit loop counts as completed."""
    return int(batch_progress(ckpt)["completed"])


def optimizer_states(ckpt: dict) -> list[dict]:
    """The state dict of every optimizer, in configure_optimizers' order."""
    return ckpt["optimizer_states"]


def learning_rates(ckpt: dict) -> list[float]:
    """The learning rate of every param group of every optimizer."""
    return [g["lr"] for opt in optimizer_states(ckpt) for g in opt["param_groups"]]


def scheduler_epochs(ckpt: dict) -> list[int]:
    """How many times each learning-rate scheduler has stepped."""
    return [int(s["last_epoch"]) for s in ckpt["lr_schedulers"]]


from expr_gan.losses.term import LossTerm  # noqa: E402


class NaNTerm(LossTerm):
    """A loss term that is NaN from its call number `after` on (`phase`: "G" or "D"): a divergence
    injected into one phase (`+model.d_terms.nan={_target_: helpers.NaNTerm, phase: D}`)."""

    def __init__(self, weight: float = 1.0, phase: str = "G", after: int = 0):
        super().__init__(weight)
        self.phase, self.after, self.calls = phase, after, 0

    def forward(self, step):
        self.calls += 1
        value = step.fake.mean() * 0.0
        return value * float("nan") if self.calls > self.after else value


class MeanColour(LossTerm):
    """docs/extending.md's worked example of a new term: L1 between the mean colour of the output and of the
    source, per image and channel (an edit should not relight the face)."""

    def forward(self, step):
        return (step.fake.mean((2, 3)) - step.batch.source.mean((2, 3))).abs().mean()


class InitialWeights(pl.Callback):
    """The module's state_dict as training starts (`InitialWeights.state`)."""

    state: dict = {}

    def on_fit_start(self, trainer, pl_module):
        InitialWeights.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
