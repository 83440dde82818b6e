"""`python -m expr_gan.train [overrides]`: train any model family on any data (Hydra app).

`train(cfg)` does the work and can be called in-process (tests, notebooks); `main` is the thin
Hydra wrapper. Heavy libraries are imported inside `train` so `--help` stays fast.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from expr_gan.config import config_dir

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model on the configured data; returns the final logged metrics.

    Everything the run writes (config, checkpoints, TensorBoard events, sample PNGs, metrics.json)
    goes under `cfg.paths.output_dir`.
    """
    import pytorch_lightning as pl
    import torch
    from hydra.utils import instantiate

    from expr_gan.callbacks import AtomicCheckpointIO, ConfigInCheckpoint
    from expr_gan.checkpoint import load_checkpoint
    from expr_gan.io import atomic_write_text
    from expr_gan.resume import ExactResume
    from expr_gan.speed import apply_speed

    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")

    datamodule = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    model = apply_speed(instantiate(cfg.model), **(cfg.get("speed") or {}))
    model.on_nonfinite = cfg.get("on_nonfinite", "stop")
    if model.on_nonfinite not in ("stop", "skip"):
        raise ValueError(f"on_nonfinite={model.on_nonfinite!r}: expected stop or skip")
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None and "_target_" in c]
    callbacks += [ConfigInCheckpoint(OmegaConf.to_container(cfg, resolve=True)), ExactResume()]
    loggers = [instantiate(lg) for lg in (cfg.get("logger") or {}).values() if lg is not None and "_target_" in lg]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()])
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path == "last":  # resume this run dir (hydra.run.dir=<the killed run's dir>)
        ckpt_path = out_dir / "checkpoints" / "last.ckpt"
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"ckpt_path=last: {ckpt_path} does not exist; pass hydra.run.dir=<the run to resume>")
    if ckpt_path is not None:
        load_checkpoint(ckpt_path)  # a clear error for a missing, truncated or foreign file, before Lightning's

    def scalars() -> dict[str, float]:
        return {k: float(v) for k, v in trainer.callback_metrics.items() if torch.as_tensor(v).numel() == 1}

    import gc
    import platform
    import time

    started = time.perf_counter()
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    finally:
        gc.unfreeze()  # the module freezes the heap for speed while training (modules/base.py)
    metrics = scalars()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and trainer.strategy.root_device.type == "cuda" \
        else f"{platform.machine()} CPU x{torch.get_num_threads()} threads"
    fit_seconds = round(time.perf_counter() - started, 1)
    if cfg.get("run_test"):  # on every rank (collective under DDP)
        trainer.test(model, datamodule=datamodule)
        metrics.update(scalars())  # test/... keys; the fit metrics are kept
    if not trainer.is_global_zero:  # DDP: rank 0 writes the run's files
        return metrics
    atomic_write_text(out_dir / "run_info.json", json.dumps({
        "name": cfg.get("task_name"), "fit_seconds": fit_seconds, "hardware": device,
        "epochs": trainer.current_epoch, "batches": trainer.fit_loop.total_batch_idx + 1}, indent=2))
    for lg in loggers:  # the TensorBoard HPARAMS tab: this run's knobs next to its final metrics
        if hasattr(lg, "log_hyperparams"):
            lg.log_hyperparams(hparams(cfg), {k: v for k, v in metrics.items() if k.startswith("val/")})
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True))
    log.info("finished; run dir: %s", out_dir)
    return metrics


def hparams(cfg: DictConfig) -> dict:
    """The run's scalar settings as flat `group/key` entries (for TensorBoard's HPARAMS tab and sweep reports)."""
    flat = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}/")
            elif isinstance(value, (int, float, str, bool)) and not str(key).startswith("_partial"):
                flat[f"{prefix}{key}"] = value

    plain = OmegaConf.to_container(cfg, resolve=True)
    for group in ("model", "loss", "optimizer", "norm", "pixels", "data", "scheduler"):
        if isinstance(plain.get(group), dict):
            walk(plain[group], f"{group}/")
    flat.update({k: plain[k] for k in ("seed", "net_width", "experiment") if isinstance(plain.get(k), (int, str))})
    return flat


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point: print the config, train, return the metric a sweeper optimises."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if cfg.get("print_config", True):
        print(OmegaConf.to_yaml(cfg, resolve=True))
    try:
        metrics = train(cfg)
    except Exception as err:
        # the job's failure is recorded in its run dir (expr_gan.report shows it); in a sweep the
        # other jobs go on, and a sweeper sees NaN for this one
        import traceback

        from expr_gan.io import atomic_write_text

        cause = err.__cause__ if err.__cause__ is not None and "Instantiation" in type(err).__name__ else err
        summary = " ".join(f"{type(cause).__name__}: {cause}".split())  # one line: what went wrong
        atomic_write_text(Path(cfg.paths.output_dir) / "error.txt", f"{summary}\n\n{traceback.format_exc()}")
        if HydraConfig.get().mode != RunMode.MULTIRUN:
            raise
        log.error("job failed (%s: %s); the sweep continues", type(err).__name__, err)
        return float("nan")
    name = cfg.get("optimized_metric")
    return metrics.get(name) if name else None


if __name__ == "__main__":
    main()
