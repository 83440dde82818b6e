"""`python -m expr_gan.bench` (`make bench`): our training step inside the Trainer vs a plain PyTorch loop.

For each case ONE module (networks, losses) and ONE DataLoader are trained two ways, interleaved:
(a) `Trainer.fit` with our LightningModule, and (b) after every `chunk` of its batches, `chunk`
steps of a hand-written loop over the same networks and losses (its own optimizers, a second
iterator of the same DataLoader), as a user would write without Lightning. Interleaving in short
chunks puts both sides on the same moment of a shared machine, whose speed drifts by several
percent over seconds. Reports images/s (medians over chunks), the ratio ours/plain (median of the
per-chunk ratios, with quartiles), the share of our step time spent assembling batches (data
wait: with num_workers=0 training waits for all of it), peak memory, and the wall time of
`python -m expr_gan.train --help`; writes bench.json.

Options (conf/bench.yaml): device=cpu|cuda size=32 batch=32 (data.batch_size's default)
precision=32-true steps=100 chunk=5 warmup=5 width=16 channels_last=false compile=false
(expr_gan/speed.py, both sides share the compiled networks) cases=[generation,dcgan,...] out=DIR;
photo=true photo_repeats=5 photo_models=[ours_cpu,warp_cpu]: also the photo path on a 512 px portrait
(find faces, each experiment's model's edit pasted back, the landmark warp; expr_gan/photo/speed.py)
"""
from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from expr_gan.errors import UsageError

CASES = {  # name -> overrides selecting it
    "generation": ["model=generation"], "refinement": ["model=refinement", "model.mode=end_to_end"],
    "joint": ["model=joint"], "dcgan": ["model=dcgan"], "pix2pix": ["experiment=pix2pix_cpu"],
    "stargan": ["experiment=stargan_cpu"], "ours": ["experiment=ours_cpu"],
}


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _plain_generation(module, batch: dict, optimizers: list, batch_idx: int) -> None:
    (opt,) = optimizers
    loss = module.loss_fn(module.net(batch["source"], batch["target_onehot"]), batch["target"])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _plain_refinement(module, batch: dict, optimizers: list, batch_idx: int) -> None:
    (opt,) = optimizers
    losses, features = module.step_losses(batch)
    loss = sum(losses.values())
    if features is not None and hasattr(module, "head"):  # the joint family's classifier head
        loss = loss + module.lambda_cls * module._cls(batch, features)[0]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _plain_gan(module, batch: dict, optimizers: list, batch_idx: int) -> None:
    """The module's own GAN step (its phases, G on every `g_every_n_batches`-th batch, the EMA), with
    each optimizer step written as a user would without Lightning: a finiteness check (a non-finite
    total skips the rest of the batch; one host sync per update, as ours), zero_grad, backward,
    gradient-norm clipping, step. What differs from ours is only Lightning: the Trainer's loop,
    manual_backward, clip_gradients and logging."""
    import torch

    def update(opt, weighted: dict, phase: str, total) -> bool:
        if not bool(torch.isfinite(total.detach())):
            return False
        opt.zero_grad(set_to_none=True)
        total.backward()
        if module.gradient_clip_val:
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], module.gradient_clip_val)
        opt.step()
        return True

    opt_g, opt_d = optimizers
    module.gan_step(batch, batch_idx, opt_g, opt_d, update)


def plain_steps() -> dict:
    """The hand-written reference step of each family (module class -> step). Adding a family to the
    bench: its step here, its overrides in CASES."""
    from expr_gan.modules.conditional_gan import ConditionalGANModule
    from expr_gan.modules.generation import GenerationModule
    from expr_gan.modules.joint import JointModule
    from expr_gan.modules.refinement import RefinementModule

    return {GenerationModule: _plain_generation, RefinementModule: _plain_refinement, JointModule: _plain_refinement,
            ConditionalGANModule: _plain_gan}


def fresh_optimizers(module) -> list:
    """The module's optimizers, new, as a list in configure_optimizers' order; its schedulers (a
    learning rate per epoch: no part of a step's cost) are left out."""
    optimizers = module.configure_optimizers()
    if isinstance(optimizers, tuple):  # (optimizers, schedulers)
        optimizers = optimizers[0]
    return list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers]


def plain_step(module, batch: dict, optimizers: list, batch_idx: int = 0) -> None:
    """One training step written as a user would without Lightning (same nets, losses, optimizers);
    `batch_idx`: the batch's place in its epoch (StarGAN's G updates on every n-th)."""
    step = plain_steps().get(type(module))
    if step is None:
        raise ValueError(f"bench: {type(module).__name__} has no plain reference step; "
                         "add one to plain_steps() in expr_gan/commands/bench.py")
    step(module, batch, optimizers, batch_idx)


class _DataClock:
    """Seconds spent assembling batches (PairDataset.__getitems__, the whole data path with
    num_workers=0) while `counting`."""

    def __init__(self):
        self.seconds, self.counting = 0.0, False

    def __enter__(self):
        from expr_gan.data.datamodule import PairDataset

        self._original = original = PairDataset.__getitems__
        clock = self

        def timed(dataset, items):
            start = time.perf_counter()
            try:
                return original(dataset, items)
            finally:
                if clock.counting:
                    clock.seconds += time.perf_counter() - start

        PairDataset.__getitems__ = timed
        return self

    def __exit__(self, *exc):
        from expr_gan.data.datamodule import PairDataset

        PairDataset.__getitems__ = self._original


class _PlainLoop:
    """The hand-written loop: the module's own networks and losses, its own fresh optimizers, a
    second iterator over the same DataLoader; `run(n)` times n steps (fetch + step each)."""

    def __init__(self, module, dm, opts: dict):
        import torch

        self.module, self.device, self.dm, self.loader, self.batches = module, opts["device"], dm, None, iter(())
        self.batch_idx = -1  # the place of the last batch in its epoch
        self.optimizers = fresh_optimizers(module)
        self.autocast = torch.autocast(device_type="cuda" if self.device.startswith("cuda") else "cpu",
                                       dtype=torch.bfloat16, enabled=opts["precision"].startswith("bf16"))

    def _next(self) -> dict:
        self.batch_idx += 1
        try:
            return next(self.batches)
        except StopIteration:  # a new epoch
            # made inside the fit, after the module's setup chose what batches carry
            self.loader = self.loader or self.dm.train_dataloader()
            self.batches, self.batch_idx = iter(self.loader), 0
            return next(self.batches)

    def run(self, steps: int) -> float:
        """Seconds for `steps` plain steps, synchronised at both ends."""
        from expr_gan.speed import to_channels_last

        _sync(self.device)
        start = time.perf_counter()
        for _ in range(steps):
            batch = {k: v.to(self.device, non_blocking=True) for k, v in self._next().items()}
            if self.module.channels_last:  # as the module's on_after_batch_transfer does
                batch = to_channels_last(batch)
            with self.autocast:
                plain_step(self.module, batch, self.optimizers, self.batch_idx)
        _sync(self.device)
        return time.perf_counter() - start


def _interleaved(warmup: int, chunk: int, chunks: int, plain: _PlainLoop, clock: _DataClock, device: str):
    """A callback that, after `warmup` batches, times the Trainer `chunk` batches at a time and runs
    `chunk` plain steps after each such chunk."""
    import pytorch_lightning as pl

    class Interleave(pl.Callback):
        def __init__(self):
            self.ours, self.plain, self.mark = [], [], None

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if module.batches_trained == warmup:  # batches before this one, across epochs
                _sync(device)
                self.mark = time.perf_counter()
                clock.counting = True

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            done = module.batches_trained - warmup
            if done <= 0 or done % chunk:
                return
            _sync(device)
            self.ours.append(time.perf_counter() - self.mark)  # the chunk's steps with their fetches and hooks
            clock.counting = False
            self.plain.append(plain.run(chunk))
            clock.counting = True
            if len(self.ours) == chunks + 1:  # each side's first chunk is a further warm-up
                trainer.should_stop = True
            self.mark = time.perf_counter()

    return Interleave()


def run_case(name: str, opts: dict) -> dict:
    """Time one case both ways, interleaved chunk by chunk; returns a bench record."""
    import pytorch_lightning as pl
    import torch
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from expr_gan.callbacks.batch_clock import BatchClock
    from expr_gan.callbacks.heap import FrozenHeap
    from expr_gan.config import config_dir

    device, steps, warmup, chunk = opts["device"], int(opts["steps"]), int(opts["warmup"]), int(opts["chunk"])
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
    from expr_gan.speed import apply_speed

    module = apply_speed(instantiate(cfg.model).to(device), channels_last=bool(opts["channels_last"]),
                         compile=bool(opts["compile"]))
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    chunks = max(2, steps // chunk)
    plain = _PlainLoop(module, dm, opts)
    with _DataClock() as clock:
        timer = _interleaved(warmup, chunk, chunks, plain, clock, device)
        trainer = pl.Trainer(accelerator="gpu" if device.startswith("cuda") else "cpu", devices=1, max_epochs=-1,
                             limit_val_batches=0, logger=False, enable_progress_bar=False,
                             # the batch clock counts batches (the timer reads the count); it writes nothing
                             enable_model_summary=False, precision=opts["precision"],
                             callbacks=[timer, FrozenHeap(), BatchClock(dirpath=None)],
                             num_sanity_val_steps=0)
        trainer.fit(module, datamodule=dm)
    ours_s, plain_s = timer.ours[1:], timer.plain[1:]
    ratios = [p / o for o, p in zip(ours_s, plain_s)]  # per chunk: plain seconds / our seconds
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return {"case": name, "device": device, "size": size, "batch": batch, "precision": opts["precision"],
            "channels_last": bool(opts["channels_last"]), "compile": bool(opts["compile"]),
            "chunks": len(ratios), "chunk_steps": chunk, "ours_img_s": batch * chunk / statistics.median(ours_s),
            "plain_img_s": batch * chunk / statistics.median(plain_s), "ratio": statistics.median(ratios),
            "ratio_quartiles": [q1, q3], "ratio_spread": [min(ratios), max(ratios)], "chunk_ratios": ratios,
            "data_wait_share": clock.seconds / sum(timer.ours),
            "peak_mem_mb": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else _rss_mb()}


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


def _photo_path(opts: dict, lines: list[str]) -> list[dict] | None:
    """With photo=true, the photo path's timings (expr_gan/photo/speed.py) for each of `photo_models`,
    appended to `lines`."""
    from expr_gan.photo.landmarks import landmarks_available
    from expr_gan.photo.packaged import grace_hopper
    from expr_gan.photo.speed import markdown, photo_path_seconds

    if not opts["photo"]:
        return None
    path = grace_hopper()
    if path is None or not landmarks_available():
        lines.append("photo path: skipped (needs the face extra and matplotlib's sample photo: make install)")
        return None
    from expr_gan.commands.command import as_list

    records = [photo_path_seconds(path, int(opts["photo_repeats"]), str(m)) for m in as_list(opts["photo_models"])]
    lines.extend(markdown(r) for r in records)
    return records


def main(argv: list[str]) -> int:
    """Run every case, print the table, write bench.json."""
    from expr_gan.commands.command import as_list, command_config, save_command_config
    from expr_gan.io import atomic_write_text

    cfg = command_config("bench", argv, __doc__)
    if cfg is None:
        return 0
    opts = dict(cfg)
    names = [str(n) for n in as_list(cfg.cases)]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise UsageError(f"cases: unknown {unknown}; expected some of {', '.join(CASES)}")
    from expr_gan.config import config_dir

    experiments = sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))
    unknown = [str(m) for m in as_list(cfg.photo_models) if str(m) not in experiments]
    if cfg.photo and unknown:  # before any case runs
        raise UsageError(f"photo_models: unknown experiments {unknown}; expected some of {', '.join(experiments)}")
    import logging
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    from expr_gan.runtime import run_settings

    with run_settings(cudnn_benchmark=str(opts["device"]).startswith("cuda")):  # as train() runs
        records = [run_case(n, opts) for n in names]
    startup = help_time()
    machine = f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip()
    lines = [f"{time.strftime('%Y-%m-%d')} on {machine}, device {opts['device']}, {opts['size']} px, batch {opts['batch']}, "
             f"precision {opts['precision']}, channels_last {opts['channels_last']}, compile {opts['compile']}, "
             f"{opts['steps']} steps a side, interleaved in chunks of {opts['chunk']}",
             "| case | ours img/s | plain img/s | ours/plain | quartiles | data wait | peak MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        q1, q3 = r["ratio_quartiles"]
        lines.append(f"| {r['case']} | {r['ours_img_s']:.1f} | {r['plain_img_s']:.1f} | {r['ratio']:.3f} | "
                     f"{q1:.2f}-{q3:.2f} | {100 * r['data_wait_share']:.2f}% | {r['peak_mem_mb']:.0f} |")
    lines.append(f"`python -m expr_gan.train --help`: {startup:.2f} s")
    photo = _photo_path(opts, lines)
    out = Path(cfg.out)
    save_command_config(out, "bench", cfg)
    atomic_write_text(out / "bench.json", json.dumps({"records": records, "help_seconds": startup, "machine": machine,
                                                      "date": time.strftime("%Y-%m-%d"), "photo": photo}, indent=2))
    print("\n".join(lines) + f"\n\nwrote {out}/bench.json")
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
