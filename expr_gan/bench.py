"""`python -m expr_gan.bench` (`make bench`): our training step inside the Trainer vs a plain PyTorch loop.

For each case the SAME module (networks, losses, optimizers) and the SAME DataLoader are timed two
ways, alternating after a warm-up: (a) `Trainer.fit` with our LightningModule, (b) a hand-written
loop calling the networks and losses directly. Reports images/s (median and spread over repeats),
the ratio ours/plain, the share of step time spent waiting for data, peak memory, and the wall
time of `python -m expr_gan.train --help`; writes bench.json.

Options: device=cpu|cuda size=32 batch=16 precision=32-true steps=30 warmup=5 repeats=3 width=16
cases=generation,refinement,joint,dcgan,pix2pix,stargan,ours out=DIR
"""
from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {  # name -> overrides selecting it
    "generation": ["model=generation"], "refinement": ["model=refinement", "model.mode=end_to_end"],
    "joint": ["model=joint"], "dcgan": ["model=dcgan"], "pix2pix": ["experiment=pix2pix_cpu"],
    "stargan": ["experiment=stargan_cpu", "model.g_every_n_batches=1"], "ours": ["experiment=ours_cpu"],
}
USAGE = "usage: python -m expr_gan.bench [device=cpu|cuda] [size=32] [batch=16] [precision=32-true] [steps=30] " \
        "[warmup=5] [repeats=3] [width=16] [cases=a,b] [out=DIR]"


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def plain_step(module, batch: dict, optimizers: list) -> None:
    """One training step written as a user would without Lightning (same nets, losses, optimizers)."""
    from expr_gan.modules.dcgan import ConditionalGANModule
    from expr_gan.modules.generation import GenerationModule
    from expr_gan.modules.joint import JointModule
    from torch import nn

    if isinstance(module, ConditionalGANModule):
        opt_g, opt_d = optimizers

        def phase(train: nn.Module, frozen: nn.Module, opt, losses, steps: int) -> None:
            train.requires_grad_(True)
            frozen.requires_grad_(False)  # as a careful user would: no gradients for the other net
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                sum(losses(batch).values()).backward()
                opt.step()

        for _ in range(module.iters_per_batch):
            phase(module.discriminator, module.generator, opt_d, module.discriminator_losses, module.d_steps)
            phase(module.generator, module.discriminator, opt_g, module.generator_losses, module.g_steps)
            if module.generator_ema is not None:
                module._update_ema()
        module.discriminator.requires_grad_(True)
        return
    (opt,) = optimizers
    if isinstance(module, GenerationModule):
        loss = module.loss_fn(module.net(batch["source"], batch["target_onehot"]), batch["target"])
    else:
        losses, features = module.step_losses(batch)
        loss = sum(losses.values())
        if isinstance(module, JointModule) and features is not None:
            loss = loss + module.lambda_cls * module._cls(batch, features)[0]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _timer_callback(warmup: int, device: str):
    import pytorch_lightning as pl

    class Timer(pl.Callback):
        """Times batches after `warmup`, and the gaps between them (waiting for data)."""

        def __init__(self):
            self.start = self.end = None
            self.wait = 0.0
            self.last_end = None

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            now = time.perf_counter()
            if batch_idx == warmup:
                _sync(device)
                self.start = time.perf_counter()
            elif batch_idx > warmup and self.last_end is not None:
                self.wait += now - self.last_end

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if batch_idx >= warmup:
                self.last_end = time.perf_counter()

        def on_train_end(self, trainer, module):
            _sync(device)
            self.end = time.perf_counter()

    return Timer()


def run_case(name: str, opts: dict) -> dict:
    """Time one case both ways, alternating; returns a bench record."""
    import pytorch_lightning as pl
    import torch
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from expr_gan.config import config_dir

    device, steps, warmup, repeats = opts["device"], int(opts["steps"]), int(opts["warmup"]), int(opts["repeats"])
    batch, size = int(opts["batch"]), int(opts["size"])
    overrides = CASES[name] + [f"data.size={size}", f"data.batch_size={batch}", f"net_width={opts['width']}",
                               "data.num_identities=60", "callbacks=none", "logger=none", "data.num_workers=0"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    cfg.paths.output_dir = "/tmp/expr_gan_bench"
    torch.manual_seed(0)
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    dm.setup()
    module = instantiate(cfg.model).to(device)
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    total = warmup + steps
    ours, plain, waits, peaks = [], [], [], []
    for _ in range(repeats):
        # (a) ours: the Trainer with our LightningModule
        timer = _timer_callback(warmup, device)
        trainer = pl.Trainer(accelerator="gpu" if device.startswith("cuda") else "cpu", devices=1, max_epochs=1,
                             limit_train_batches=total, limit_val_batches=0, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, precision=opts["precision"],
                             callbacks=[timer], num_sanity_val_steps=0)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        trainer.fit(module, datamodule=dm)
        ours.append(batch * steps / (timer.end - timer.start))
        waits.append(timer.wait / (timer.end - timer.start))
        if device.startswith("cuda"):
            peaks.append(torch.cuda.max_memory_allocated() / 2**20)
        # (b) plain: the same module's networks, losses and optimizers, the same DataLoader
        module.to(device).train()
        optimizers = module.configure_optimizers()
        optimizers = list(optimizers[0]) if isinstance(optimizers, tuple) else (
            list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers])
        autocast = torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                                  enabled=opts["precision"].startswith("bf16"))
        for i, b in enumerate(dm.train_dataloader()):
            if i == total:
                break
            if i == warmup:
                _sync(device)
                start = time.perf_counter()
            b = {k: v.to(device, non_blocking=True) for k, v in b.items()}
            with autocast:
                plain_step(module, b, optimizers)
        _sync(device)
        plain.append(batch * steps / (time.perf_counter() - start))
    record = {"case": name, "device": device, "size": size, "batch": batch, "precision": opts["precision"],
              "repeats": repeats, "steps": steps, "ours_img_s": statistics.median(ours), "plain_img_s": statistics.median(plain),
              "ours_spread": [min(ours), max(ours)], "plain_spread": [min(plain), max(plain)],
              "data_wait_share": statistics.median(waits), "peak_mem_mb": max(peaks) if peaks else _rss_mb()}
    record["ratio"] = record["ours_img_s"] / record["plain_img_s"]
    return record


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def help_time() -> float:
    """Wall time of `python -m expr_gan.train --help` in a fresh process (median of 3)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "expr_gan.train", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    """Run every case, print the table, write bench.json."""
    from expr_gan.cli import parse_args
    from expr_gan.io import atomic_write_text

    known = {"device", "size", "batch", "precision", "steps", "warmup", "repeats", "width", "cases", "out"}
    opts, _ = parse_args(argv, known, set(), USAGE)
    opts = {"device": "cpu", "size": "32", "batch": "16", "precision": "32-true", "steps": "30", "warmup": "5",
            "repeats": "3", "width": "16", "cases": ",".join(CASES), **opts}
    names = opts["cases"].split(",")
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise ValueError(f"cases: unknown {unknown}; expected some of {', '.join(CASES)}")
    import logging
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    records = [run_case(n, opts) for n in names]
    startup = help_time()
    machine = f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip()
    lines = [f"{time.strftime('%Y-%m-%d')} on {machine}, device {opts['device']}, {opts['size']} px, batch {opts['batch']}, "
             f"precision {opts['precision']}, {opts['repeats']} repeats of {opts['steps']} steps",
             "| case | ours img/s | plain img/s | ours/plain | data wait | peak MB |", "|---|---:|---:|---:|---:|---:|"]
    for r in records:
        lines.append(f"| {r['case']} | {r['ours_img_s']:.1f} | {r['plain_img_s']:.1f} | {r['ratio']:.3f} | "
                     f"{100 * r['data_wait_share']:.2f}% | {r['peak_mem_mb']:.0f} |")
    lines.append(f"`python -m expr_gan.train --help`: {startup:.2f} s")
    out = Path(opts.get("out") or f"outputs/bench/{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    atomic_write_text(out / "bench.json", json.dumps({"records": records, "help_seconds": startup, "machine": machine,
                                                      "date": time.strftime("%Y-%m-%d")}, indent=2))
    print("\n".join(lines) + f"\n\nwrote {out}/bench.json")
    return 0


if __name__ == "__main__":
    from expr_gan.cli import run

    sys.exit(run(main))
