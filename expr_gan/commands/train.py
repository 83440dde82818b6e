"""`expr-gan train [overrides]` (or `python -m expr_gan.train`): train any model family on any data (Hydra app).

`train(cfg)` does the work and can be called in-process (tests, notebooks); `main` is the thin
Hydra wrapper. Heavy libraries are imported inside `train` so `--help` stays fast.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from expr_gan.config import config_dir
from expr_gan.errors import MissingFileError, UsageError
from expr_gan.timing import process_started

STARTED = process_started()  # the command's start: timings.json's start-up phase begins here
log = logging.getLogger(__name__)


def train(cfg: DictConfig, started: float | None = None) -> dict[str, float | str]:
    """Fit the configured model on the configured data; returns the final logged metrics
    (with `run_test`, also `test/...` and `test/checkpoint`: which weights were tested).

    Everything the run writes (config, checkpoints, TensorBoard events, sample PNGs, metrics.json,
    timings.json) goes under `cfg.paths.output_dir`. `started`: when the command started (a
    perf_counter value; the CLI passes its process's start), so timings.json covers the start-up too.
    """
    from expr_gan import timing

    with timing.recording(started) as timings:
        if started is not None:  # the interpreter, the imports before train() and the config
            timings.end(timings.begin("startup", started=started))
        try:
            return _train(cfg)
        finally:
            _write_timings(cfg, timings)


def _write_timings(cfg: DictConfig, timings) -> None:
    """timings.json in the run dir (also after a failure: where the time went before it) and the table in the log."""
    from expr_gan.io import atomic_write_text

    from pytorch_lightning.utilities import rank_zero_only

    out_dir = Path(cfg.paths.output_dir)
    if not out_dir.is_dir() or rank_zero_only.rank != 0:  # DDP: rank 0 writes the run's files
        return
    atomic_write_text(out_dir / "timings.json", json.dumps(timings.summary(), indent=2))
    log.info("where the time went (own seconds of each phase; timings.json):\n%s", timings.table())


def _train(cfg: DictConfig) -> dict[str, float | str]:
    from expr_gan.timing import timed

    with timed("startup/imports"):  # torch and Lightning: imported here so --help stays fast
        import pytorch_lightning as pl
        import torch
        from hydra.utils import instantiate

    from expr_gan.callbacks.checkpoints import AtomicCheckpointIO
    from expr_gan.checkpoint import load_checkpoint
    from expr_gan.io import atomic_write_text
    from expr_gan.runtime import run_settings
    from expr_gan.speed import apply_speed

    if cfg.trainer.get("gradient_clip_val"):  # Lightning raises deep inside fit for manual optimisation
        raise UsageError("trainer.gradient_clip_val: every family steps its optimizers itself; "
                         "use model.gradient_clip_val (gradient-norm clipping of every update)")
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)

    datamodule = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    speed = dict(cfg.get("speed") or {})
    cudnn_benchmark = speed.pop("cudnn_benchmark", False)
    model = apply_speed(instantiate(cfg.model), **speed)
    callbacks = run_callbacks(cfg)
    for callback in callbacks:  # referees trained (cached) before fit: before DDP starts its other processes
        if hasattr(callback, "prepare"):
            callback.prepare(datamodule, wiring_check=bool(cfg.trainer.get("fast_dev_run")))
    loggers = [instantiate(lg) for lg in (cfg.get("logger") or {}).values() if lg is not None and "_target_" in lg]
    # the batch clock is a Checkpoint, so Lightning adds no default ModelCheckpoint of its own (it would
    # refuse one with checkpointing disabled); with callbacks=none it writes nothing (dirpath None)
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()],
                          enable_checkpointing=True)
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path == "last":  # resume this run dir (hydra.run.dir=<the killed run's dir>)
        ckpt_path = out_dir / "checkpoints" / "last.ckpt"
        if not ckpt_path.is_file():
            raise MissingFileError(f"ckpt_path=last: {ckpt_path} does not exist; pass hydra.run.dir=<the run to resume>")
    if ckpt_path is not None:
        load_checkpoint(ckpt_path)  # a clear error for a missing, truncated or foreign file, before Lightning's

    def scalars() -> dict[str, float]:
        return {k: float(v) for k, v in trainer.callback_metrics.items() if torch.as_tensor(v).numel() == 1}

    import platform
    import time

    started = time.perf_counter()
    with run_settings(cudnn_benchmark):  # process-wide settings, restored after the run
        with timed("fit"):
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        metrics = scalars()
        fit_seconds = round(time.perf_counter() - started, 1)
        if cfg.get("run_test"):  # on every rank (collective under DDP)
            # the best checkpoint when one was kept (as lightning-hydra-template does), else the last weights
            best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
            with timed("test"):
                trainer.test(model, datamodule=datamodule, ckpt_path=best, weights_only=True)
            metrics.update(scalars())  # test/... keys; the fit metrics are kept
            metrics["test/checkpoint"] = Path(best).name if best else "last weights"
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and trainer.strategy.root_device.type == "cuda" \
        else f"{platform.machine()} CPU x{torch.get_num_threads()} threads"
    if not trainer.is_global_zero:  # DDP: rank 0 writes the run's files
        return metrics
    atomic_write_text(out_dir / "run_info.json", json.dumps({
        "name": cfg.get("task_name"), "fit_seconds": fit_seconds, "hardware": device,
        "epochs": trainer.current_epoch, "batches": model.batches_trained}, indent=2))
    # the TensorBoard HPARAMS tab: this run's knobs next to its final metrics. Logged under final/ at the
    # last step: the logger writes them as scalars too, and under their own names they would add a
    # point at another step to the val/ curves
    final = {f"final/{k}": v for k, v in metrics.items() if k.startswith("val/") and isinstance(v, float)}
    for lg in loggers:
        if hasattr(lg, "log_hyperparams"):
            lg.log_hyperparams(hparams(cfg), final, step=model.log_step)
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True))
    log.info("finished; run dir: %s", out_dir)
    return metrics


def run_callbacks(cfg: DictConfig) -> list:
    """The callbacks of `cfg.callbacks`, built in the config's order (`--cfg job` shows them all), with
    the run config handed to those that store it. A run needs a batch clock (it counts the batches and
    owns last.ckpt) as the last of its checkpoint callbacks: Lightning runs those after all others in
    their own order, and last.ckpt, written after the best-epoch file, then carries its updated record."""
    from hydra.utils import instantiate
    from pytorch_lightning.callbacks import Checkpoint

    from expr_gan.callbacks.batch_clock import BatchClock

    nodes = {name: node for name, node in (cfg.get("callbacks") or {}).items() if node is not None and "_target_" in node}
    callbacks = [instantiate(node) for node in nodes.values()]
    for callback in callbacks:
        if hasattr(callback, "use_run_config"):
            callback.use_run_config(OmegaConf.to_container(cfg, resolve=True), config_source(cfg))
    checkpoints = [(name, c) for name, c in zip(nodes, callbacks) if isinstance(c, Checkpoint)]
    if not checkpoints or not isinstance(checkpoints[-1][1], BatchClock):
        after = f"; {checkpoints[-1][0]} comes after it" if any(isinstance(c, BatchClock) for _, c in checkpoints) else ""
        raise UsageError(f"callbacks: a run needs expr_gan.callbacks.batch_clock.BatchClock as its last checkpoint "
                         f"callback (it counts batches and owns last.ckpt; dirpath: null writes nothing){after}; "
                         f"callbacks=none has only what every run needs (conf/callbacks/run.yaml)")
    return callbacks


def config_source(cfg: DictConfig) -> dict:
    """The run config with its interpolations kept, except in the top-level nodes that read Hydra's run
    or the environment (resolved: they mean nothing outside this run); see ConfigInCheckpoint."""
    source = OmegaConf.to_container(cfg, resolve=False)
    for key, value in source.items():
        if any(marker in str(value) for marker in ("${hydra:", "${now:", "${oc.env:")):
            source[key] = OmegaConf.to_container(cfg, resolve=True)[key]
    return source


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
    flat.update({k: plain[k] for k in ("seed", "net_width", "task_name") if isinstance(plain.get(k), (int, str))})
    return flat


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point: print the config, train, return the metric a sweeper optimises."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if cfg.get("print_config", True):
        print(OmegaConf.to_yaml(cfg, resolve=True))
    try:
        metrics = train(cfg, started=STARTED)
    except Exception as err:
        # the job's failure is recorded in its run dir (expr_gan.report shows it); in a sweep the
        # other jobs go on, and a sweeper sees NaN for this one
        import traceback

        from expr_gan.io import atomic_write_text

        from expr_gan.commands.command import user_error

        cause = err.__cause__ if err.__cause__ is not None and "Instantiation" in type(err).__name__ else err
        summary = " ".join(f"{type(cause).__name__}: {cause}".split())  # one line: what went wrong
        atomic_write_text(Path(cfg.paths.output_dir) / "error.txt", f"{summary}\n\n{traceback.format_exc()}")
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            log.error("job failed (%s: %s); the sweep continues", type(err).__name__, err)
            return float("nan")
        message = user_error(err)
        if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise  # a bug (or asked for): the whole traceback
        print(f"error: {message}\n(the traceback is in {Path(cfg.paths.output_dir) / 'error.txt'}; "
              "HYDRA_FULL_ERROR=1 prints it)", file=sys.stderr)
        sys.exit(2)
    name = cfg.get("optimized_metric")
    return metrics.get(name) if name else None


def cli(argv: list[str] | None = None) -> int:
    """The command line: a moved option named before Hydra's "not in struct, use +", then Hydra's app
    on `argv` (default: the process's arguments)."""
    from expr_gan.legacy_config import old_option_error

    argv = sys.argv[1:] if argv is None else argv
    if (moved := old_option_error(argv)) is not None:
        print(f"error: {moved}", file=sys.stderr)
        return 2
    sys.argv = [sys.argv[0], *argv]  # Hydra reads sys.argv
    main()
    return 0


if __name__ == "__main__":
    sys.exit(cli())
