"""Fingerprints of tiny GAN-family runs: what must not move when the family's code is refactored.

`python tests/bit_identity.py record` trains each case (seconds each, 32 px) and writes
tests/data/gan_fingerprints.json; tests/test_bit_identity.py trains them again and compares. A
fingerprint is a SHA-256 of every tensor of the final state (weights, EMA, buffers, optimizer
moments), of the last sample grid, and the final logged values.

Float results depend on the CPU's vector kernels, so the runs happen in a subprocess with portable
kernels (PORTABLE): torch's AVX2 kernels (not AVX-512 where the CPU has it), convolutions without
oneDNN or NNPACK (whose kernels follow the CPU model and its caches), MKL in its reproducible AVX2
mode (MKL_CBWR), one thread. On this project's CPU, the same run with AVX2 instead of AVX-512
kernels moved 3 in 4 tensors (val/loss_rec 0.11437 -> 0.11410): without this, a record would be
valid on one CPU model only.

Even so, results differ between CPU models (on an AMD EPYC every case moved against the first record),
so the record keeps one set of fingerprints per CPU model (`by_cpu`, keyed by /proc/cpuinfo's model
name); the top-level set is the first record's, made on this project's first CPU, whose model was not
noted, and is the one compared on a CPU without its own set.

Every set was made by the code before the GAN family became terms (commit 07760b3): with that
commit checked out and this file copied into it, `python tests/bit_identity.py record --syntax old`.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

RECORD = Path(__file__).parent / "data" / "gan_fingerprints.json"
PORTABLE = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# the issue's five runs at a tiny scale: 32 px, width 8, 12 people, a few batches over two epochs
CRITIC = ["model.g_terms.expr.epochs=2", "model.g_terms.expr.width=8"]
CASES = {
    # the default experiment's learning-rate decay came after the record (~scheduler: the recorded
    # computation; the scheduler itself is in ours_every_term)
    "ours_cpu": ["experiment=ours_cpu", *CRITIC, "max_batches=10", "~scheduler"],
    "stargan_cpu": ["experiment=stargan_cpu", "max_batches=12"],
    "pix2pix_cpu": ["experiment=pix2pix_cpu", "max_batches=10", "model.discriminator.width=8"],
    "ganimation_cpu": ["experiment=ganimation_cpu", "max_batches=10"],
    "paper_dcgan": ["experiment=paper_dcgan", "max_batches=10", "data.num_identities=12"],
    # beyond the issue's five: every other term and option of the family once
    "paper_dcgan_cls": ["experiment=paper_dcgan_cls", "max_batches=10", "data.num_identities=12"],
    "ours_every_term": ["experiment=ours_cpu", *CRITIC, "max_batches=8",
                        "+g_term@model.g_terms.grad=gradient_difference", "model.g_terms.grad.weight=10",
                        "+g_term@model.g_terms.mask_region=mask_on_change", "model.g_terms.mask_region.weight=2",
                        "+g_term@model.g_terms.fm=feature_matching", "+g_term@model.g_terms.cyc=cycle",
                        "model.targets.highpass=9", "model.gan_loss.mode=hinge", "model.targets.d_real=photo",
                        "model.targets.relight=false", "model.d_steps=2", "model.g_steps=2", "model.iters_per_batch=2",
                        "model.gradient_clip_val=0.5", "scheduler=linear_decay"],
    "ours_target": ["experiment=ours_cpu", *CRITIC, "max_batches=8", "~scheduler", "model.targets.rec_target=target",
                    "model.targets.d_real=target", "model.targets.relight=false", "model.g_terms.change.weight=0"],
}
# the same runs in the syntax of the code before the terms (commit 07760b3), which made the record
OLD_CRITIC = ["model.critic.epochs=2", "model.critic.width=8"]
OLD_CASES = {
    **{name: overrides for name, overrides in CASES.items() if name not in ("ours_cpu", "ours_every_term", "ours_target")},
    "ours_cpu": ["experiment=ours_cpu", *OLD_CRITIC, "max_batches=10"],
    "ours_every_term": ["experiment=ours_cpu", *OLD_CRITIC, "max_batches=8", "model.lambda_grad=10",
                        "model.lambda_mask_region=2", "model.lambda_fm=1", "model.highpass=9", "model.lambda_cyc=1",
                        "model.gan_loss.mode=hinge", "model.d_real=photo", "model.relight=false", "model.d_steps=2",
                        "model.g_steps=2", "model.iters_per_batch=2", "model.gradient_clip_val=0.5",
                        "scheduler=linear_decay"],
    "ours_target": ["experiment=ours_cpu", *OLD_CRITIC, "max_batches=8", "model.rec_target=target",
                    "model.d_real=target", "model.relight=false", "model.lambda_change=0"],
}
# terms are summed in the order listed, and a sum in another order differs in its last bits: terms
# added on the command line come last, so these cases list them where the old code summed them
G_ORDER = {"ours_every_term": ["adv", "rec", "grad", "expr", "change", "cyc", "mask", "mask_binary", "mask_region",
                               "tv", "fm"]}
COMMON = ["debug=tiny", "print_config=false", "logger=none", "callbacks.eval_metrics=null",
          "trainer.max_epochs=2", "trainer.log_every_n_steps=1", "seed=7"]


def machine() -> str:
    """What float results depend on: torch's version, the kernels it runs, its thread count."""
    return (f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()} kernels, "
            f"oneDNN {'on' if torch.backends.mkldnn.enabled else 'off'}, NNPACK "
            f"{'on' if torch._C._get_nnpack_enabled() else 'off'}, MKL_CBWR={os.environ.get('MKL_CBWR')}, "
            f"{torch.get_num_threads()} threads")


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo; elsewhere platform.processor())."""
    import platform

    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def recorded_for_this_cpu(record: dict) -> dict:
    """{"machine", "cases"} of the record made on this CPU model, else the first record's."""
    return record.get("by_cpu", {}).get(cpu_model()) or {"machine": record["machine"], "cases": record["cases"]}


def _digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()).hexdigest()


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, torch.Tensor):
        out[prefix] = value
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            _flatten(f"{prefix}.{key}", value[key], out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _flatten(f"{prefix}.{i}", item, out)


def fingerprint(run_dir: Path, metrics: dict) -> dict:
    """The fingerprint of a finished run: its last.ckpt's tensors, last grid and logged values."""
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    tensors: dict = {}
    _flatten("state_dict", ckpt["state_dict"], tensors)
    _flatten("optimizer_states", [s["state"] for s in ckpt["optimizer_states"]], tensors)
    grids = sorted((run_dir / "samples").glob("*.png"))
    return {
        "sha256": {k: _digest(v) for k, v in tensors.items()},
        "summary": {k: [float(v.double().sum()), float(v.double().norm())] for k, v in tensors.items()},
        "grid": hashlib.sha256(grids[-1].read_bytes()).hexdigest(),
        "batches": int(ckpt["expr_gan_batches_trained"]),
        "logged": {k: float(v) for k, v in sorted(metrics.items()) if isinstance(v, float)},
    }


def run_case(name: str, out_dir: Path, cache_dir: Path, syntax: str = "new") -> dict:
    """Train case `name` into `out_dir` in this process and return its fingerprint."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import open_dict

    from expr_gan.config import config_dir
    from expr_gan.commands.train import train

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[*COMMON, *(CASES if syntax == "new" else OLD_CASES)[name]])
    with open_dict(cfg):
        cfg.paths.output_dir, cfg.paths.cache_dir = str(out_dir), str(cache_dir)
        if name in G_ORDER and "g_terms" in cfg.model:
            terms = cfg.model.g_terms
            cfg.model.g_terms = {k: terms[k] for k in G_ORDER[name]}
    metrics = train(cfg)
    return fingerprint(out_dir, metrics)


def fingerprints(names: list[str], out_dir: Path, cache_dir: Path, syntax: str = "new") -> dict:
    """{"machine": ..., "cases": {name: fingerprint}} of the cases, trained in a subprocess with PORTABLE kernels."""
    out = out_dir / "fingerprints.json"
    root = str(Path(__file__).resolve().parents[1])  # this checkout's expr_gan, whatever is installed
    env = {**os.environ, **PORTABLE, "EXPR_GAN_CACHE_DIR": str(cache_dir),
           "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, __file__, "run", str(out), str(cache_dir), syntax, *names], env=env,
                          capture_output=True, text=True, cwd=root)
    if done.returncode:
        raise RuntimeError(f"fingerprint run failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    return json.loads(out.read_text())


def _run(out: Path, cache_dir: Path, syntax: str, names: list[str]) -> None:
    """In the PORTABLE subprocess: train the cases and write their fingerprints to `out`."""
    torch.backends.mkldnn.enabled = False
    torch.backends.nnpack.set_flags(False)
    cases = {name: run_case(name, out.parent / name, cache_dir, syntax) for name in names}
    out.write_text(json.dumps({"machine": machine(), "cases": cases}))


def main(argv: list[str]) -> None:
    """`record [--syntax old] [case ...]`: train the cases (all by default), write their fingerprints to RECORD."""
    import tempfile

    if argv and argv[0] == "run":
        return _run(Path(argv[1]), Path(argv[2]), argv[3], argv[4:])
    if not argv or argv[0] != "record":
        raise SystemExit("usage: python tests/bit_identity.py record [--syntax old] [case ...]")
    syntax = "new"
    if argv[1:2] == ["--syntax"]:
        syntax, argv = argv[2], argv[2:]
    names = argv[1:] or list(CASES)
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        made = fingerprints(names, Path(tmp), Path(tmp) / "cache", syntax)
    mine = record.setdefault("by_cpu", {}).setdefault(cpu_model(), {"cases": {}})
    mine["machine"] = made["machine"]
    mine["cases"].update(made["cases"])
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORD} ({', '.join(names)}) for {cpu_model()} on {mine['machine']}")


if __name__ == "__main__":
    main(sys.argv[1:])
