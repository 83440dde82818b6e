"""What the claims are decided on, beyond expr_gan.evaluate's metrics.

All image quantities are in display units ([0, 1]) on the held-out test pairs of the job's data.
"""
from __future__ import annotations

from pathlib import Path

import torch


def scalar_history(job_dir: Path, tag: str) -> list[tuple[int, float]]:
    """(step, value) of a logged scalar from the job's TensorBoard events (steps are training batches)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = job_dir / "tensorboard"
    if not logdir.is_dir():
        return []
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0}).Reload()
    if tag not in events.Tags()["scalars"]:
        return []
    return [(int(e.step), float(e.value)) for e in events.Scalars(tag)]


def convergence(curve: list[tuple[int, float]], batches_per_epoch: int, tolerance: float = 0.1) -> dict:
    """Where a training-loss curve settles: the first logged batch from which every later value stays
    within `tolerance` (relative) of the final level (the mean of the last quarter of the curve)."""
    if len(curve) < 4:
        return {"final": float("nan"), "settled_at_epochs": float("nan")}
    tail = [v for _, v in curve[-max(1, len(curve) // 4):]]
    final = sum(tail) / len(tail)
    settled = curve[-1][0]
    for i, (step, _) in enumerate(curve):
        if all(abs(v - final) <= tolerance * abs(final) for _, v in curve[i:]):
            settled = step
            break
    return {"final": final, "settled_at_epochs": (settled + 1) / max(batches_per_epoch, 1)}


def load_job(ckpt_path: Path, overrides=()):
    """(module in eval mode, set-up datamodule) from a checkpoint and optional overrides of its config
    (expr_gan.checkpoint.load_run): loaded once per job, every measure below reads them."""
    from expr_gan.checkpoint import load_run

    module, dm, _ = load_run(ckpt_path, overrides)
    return module, dm


def pose_bias(outputs01: torch.Tensor, targets01: torch.Tensor, posed01: torch.Tensor) -> torch.Tensor:
    """Per output: True where it is closer (mean L1) to the target warped into the source's pose
    (`posed01`) than to the target as captured (`targets01`)."""
    return (outputs01 - posed01).abs().mean(dim=(1, 2, 3)) < (outputs01 - targets01).abs().mean(dim=(1, 2, 3))


def mean_face(dm) -> torch.Tensor:
    """The mean training target image [C, H, W] in [0, 1]: the best constant image."""
    return dm.faces.images[torch.unique(dm.train_pairs[:, 1])].float().mean(0) / 255


@torch.no_grad()
def two_step_measures(module, dm, max_pairs: int = 600) -> dict:
    """Pose bias and refinement change of a two-step model on held-out pairs.

    pose_bias: the share of pairs whose output is closer (L1) to the target warped into the SOURCE's
    pose by the eyes than to the target as captured: both show the target expression, they differ
    only in pose, so > 0.5 means the output keeps the input's pose (the report's Figure 8). Pairs
    whose eyes lie within 1 px of each other in both images are left out.
    refine_change: mean |stage-2 output - stage-1 output| / mean |target - source|: how much the
    refinement step changes stage 1's image, in units of an expression change.
    mean_face_l1: see `mean_face_l1`.
    """
    from expr_gan.data.align import align_to

    faces = dm.faces
    pairs = dm.test_pairs[: max_pairs]
    src, tgt = pairs[:, 0], pairs[:, 1]
    moved = (faces.eyes[src] - faces.eyes[tgt]).abs().flatten(1).amax(1) > 1.0
    onehot = torch.nn.functional.one_hot(faces.expression[tgt], faces.num_expressions).float()
    coarse, refined, _ = module.forward_stages(dm.pixels.encode(faces.images[src]), onehot)
    coarse01, refined01 = dm.pixels.decode(coarse.float()), dm.pixels.decode(refined.float())
    target01, source01 = faces.images[tgt].float() / 255, faces.images[src].float() / 255
    posed = align_to(faces.images[tgt].float(), faces.eyes[src], faces.eyes[tgt]) / 255
    near_source = pose_bias(refined01, target01, posed)
    return {"pose_bias": float(near_source[moved].float().mean()) if moved.any() else float("nan"),
            "pose_pairs": int(moved.sum()),
            "refine_change": float((refined01 - coarse01).abs().mean() / (target01 - source01).abs().mean()),
            "mean_face_l1": mean_face_l1(dm, max_pairs)}


@torch.no_grad()
def output_measures(module, dm, max_pairs: int = 600) -> dict:
    """What a job's held-out outputs are (replication/states.py): the state measures (the state itself
    also needs the judge's readings: states.job_state, once the job is evaluated),
    `l1_aligned` (mean |output - the target warped into the source's pose by the eyes|, NaN without
    eye positions; the copy's value `copy_l1_aligned` beside it), and for a generator with dense
    layers (the FC bottleneck, the one-hot's dense path) the share of their ReLU units that never fire
    (`dead_units`).
    """
    from expr_gan.data.align import align_to
    from expr_gan.replication import states

    faces = dm.faces
    pairs = dm.test_pairs[:max_pairs] if len(dm.test_pairs) else dm.val_pairs[:max_pairs]
    src, tgt = pairs[:, 0], pairs[:, 1]
    onehot = torch.nn.functional.one_hot(faces.expression[tgt], faces.num_expressions).float()
    outputs = torch.cat([dm.pixels.decode(module.translate(dm.pixels.encode(faces.images[src[i:i + 64]]),
                                                           onehot[i:i + 64]).float()) for i in range(0, len(src), 64)])
    source01, target01 = faces.images[src].float() / 255, faces.images[tgt].float() / 255
    result = states.state_measures(outputs, source01, target01, faces.identity[src], mean_face(dm), src)
    known = torch.isfinite(faces.eyes[pairs].flatten(1)).all(1)
    aligned = align_to(faces.images[tgt].float(), faces.eyes[src], faces.eyes[tgt]) / 255
    result["l1_aligned"] = float((outputs - aligned).abs()[known].mean()) if known.any() else float("nan")
    result["copy_l1_aligned"] = float((source01 - aligned).abs()[known].mean()) if known.any() else float("nan")
    generator = getattr(module, "generator", None) or getattr(module, "net", None)
    if generator is not None:
        result["dead_units"] = dead_units(generator, dm.pixels.encode(faces.images[src[:256]]), onehot[:256])
    return result


@torch.no_grad()
def dead_units(net: torch.nn.Module, source: torch.Tensor, onehot: torch.Tensor) -> dict:
    """Per dense (Linear) layer followed by a ReLU in `net`: the share of its units that are zero for
    every one of the given inputs (a dead unit passes no signal and gets no gradient).

    Keys are the layers' names (`fc.1`: the FC bottleneck's hidden layer; `cond_embed.0`: the one-hot's
    first dense layer); an empty dict for a net without such layers."""
    records, hooks = {}, []
    modules = dict(net.named_modules())
    for name, module in modules.items():
        if isinstance(module, torch.nn.Linear):
            parent, _, index = name.rpartition(".")
            after = modules.get(f"{parent}.{int(index) + 1}" if parent else str(int(index) + 1)) if index.isdigit() else None
            if isinstance(after, torch.nn.ReLU):  # a LeakyReLU unit still passes a gradient
                hooks.append(module.register_forward_hook(
                    lambda m, i, out, key=name: records.setdefault(key, []).append(out.detach() > 0)))
    try:
        was_training = net.training
        net.eval()
        net(source, onehot)
        net.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: float((~torch.cat(fired).any(0)).float().mean()) for name, fired in records.items()}


def mean_face_l1(dm, max_pairs: int = 600) -> float:
    """L1 to the held-out targets of the best constant image, the mean training image (display units):
    a model no better than this has learned nothing about the pairs."""
    targets = dm.faces.images[dm.test_pairs[:max_pairs, 1]].float() / 255
    return float((targets - mean_face(dm)).abs().mean())


@torch.no_grad()
def photo_measures(module, dm, photo: Path) -> dict:
    """A photograph from outside the data, cropped to the face as `expr_gan.generate` does, edited to
    every expression: how far the outputs move from the input (`moved_from_input`, and at 1/4
    resolution relative to the data's mean face, `layout`: replication/states.py structure), and from
    each other."""
    from expr_gan.replication.states import structure

    from expr_gan.commands.generate import load_input

    image, how = load_input(photo, dm.size, dm.channels, "auto")
    e = dm.num_expressions
    outputs = dm.pixels.decode(module.translate(dm.pixels.encode(image[None].repeat(e, 1, 1, 1)), torch.eye(e)).float())
    source01 = image.float()[None] / 255
    spread = (outputs[:, None] - outputs[None, :]).abs().mean(dim=(2, 3, 4)).sum() / (e * (e - 1))
    layout = structure(outputs, source01.expand_as(outputs), mean_face(dm)[None])
    return {"moved_from_input": float((outputs - source01).abs().mean()), "spread_between_targets": float(spread),
            "layout": layout, "crop": how, "outputs": outputs, "input": source01[0]}
