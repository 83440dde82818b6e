"""The evaluator: every metric for a model or a baseline, on held-out people.

Metrics (all on display-range images in [0, 1]):
  expr_acc          judge accuracy for the TARGET expression on the outputs (+ confusion matrix)
  source_expr_acc   how often the judge calls the output the SOURCE's expression (a copy scores ~1)
  id_acc            top-1 retrieval of the output's own person among real held-out images
                    (the query's true target image itself is left out of the gallery)
  l1, psnr, ssim    to the real target image of the same person (torchmetrics)
  copy_ratio        mean |out - source| / mean |target - source|: 0 = copied the input, 1 = moved as far as the truth
  cond_sensitivity  mean |out_i - out_j| between outputs of one source under different targets: ~0 = one-hot ignored
  c2st_acc          a fresh classifier's held-out accuracy at telling real targets from outputs (0.5 = indistinguishable;
                    metrics/realism.py); trained on outputs for training people's pairs; the mean over
                    `c2st.seeds` classifiers, c2st_std their standard deviation, c2st_runs each one
  sharpness         outputs' detail / the real targets' (variance of the Laplacian after a 2x2 average; 1.0 = as sharp)
  sharpness_aligned_real  the same for the real targets warped into the sources' pose by the eyes: the
                    ceiling that resampling allows (NaN without eye positions)
"""
from __future__ import annotations

from typing import Callable

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from expr_gan.data.align import align_to, aligned_pair_targets
from expr_gan.data.faceset import FaceSet
from expr_gan.losses.pixel_terms import paste, relit_change
from expr_gan.metrics.realism import C2ST_DEFAULTS, blur2x, c2st_runs, mean_and_spread, sharpness, to_uint8
from expr_gan.metrics.referees import load_or_train_referee, referee_settings

METRIC_KEYS = ("expr_acc", "id_acc", "c2st_acc", "c2st_std", "sharpness", "l1", "psnr", "ssim", "copy_ratio", "cond_sensitivity",
               "source_expr_acc")
BASELINES = ("copy", "oracle", "aligned", "composite", "blur2x")


REFEREE_KEYS = ("expr_acc", "id_acc", "source_expr_acc")  # need the judge and the identity net
C2ST_KEYS = ("c2st_acc", "c2st_std")


class Evaluator:
    """Referees trained on `train_ids`' real images; galleries of `heldout_ids`' real images.

    `c2st_pairs`: pairs of training people on which the C2ST classifier learns (outputs against their
    real targets); `c2st`: its settings (metrics/realism.py C2ST_DEFAULTS). None skips the C2ST.
    `referees=False`: no judge and no identity net (none trained or loaded): the metrics without them
    (`metric_keys()`: sharpness, l1, psnr, ssim, copy_ratio, cond_sensitivity, and the C2ST's).
    """

    def __init__(self, faces: FaceSet, train_ids: torch.Tensor, heldout_ids: torch.Tensor, fingerprint: dict,
                 cache_dir=None, referee: dict | None = None, c2st_pairs: torch.Tensor | None = None,
                 c2st: dict | None = None, referees: bool = True):
        self.faces, self.num_expressions = faces, faces.num_expressions
        self.c2st_pairs, self.c2st = c2st_pairs, {**C2ST_DEFAULTS, **(c2st or {})}
        self.show_progress = False  # progress bars for the C2ST (a CLI turns them on; never inside Lightning's bar)
        self.judge = self.idnet = None
        self.judge_real_acc = float("nan")
        if referees:
            self._load_referees(train_ids, heldout_ids, fingerprint, cache_dir, referee)

    def metric_keys(self) -> tuple[str, ...]:
        """The METRIC_KEYS this evaluator computes (without referees or without a C2ST: fewer)."""
        skipped = (REFEREE_KEYS if self.judge is None else ()) + (C2ST_KEYS if self.c2st_pairs is None else ())
        return tuple(k for k in METRIC_KEYS if k not in skipped)

    def _load_referees(self, train_ids, heldout_ids, fingerprint, cache_dir, referee) -> None:
        faces = self.faces
        images01 = faces.images.float() / 255
        train_mask = torch.isin(faces.identity, train_ids)
        labels = faces.expression[train_mask]
        judge_settings, id_settings = referee_settings(referee)
        self.judge = load_or_train_referee(cache_dir, "judge", fingerprint, images01[train_mask], labels,
                                           faces.num_expressions, judge_settings)
        id_labels = torch.searchsorted(train_ids.sort().values, faces.identity[train_mask])
        self.idnet = load_or_train_referee(cache_dir, "identity", fingerprint, images01[train_mask], id_labels,
                                           len(train_ids), id_settings)
        self.gallery = torch.isin(faces.identity, heldout_ids).nonzero().flatten()
        self.gallery_emb = self.idnet.embed_all(images01[self.gallery])
        self.gallery_ids = faces.identity[self.gallery]
        self.judge_real_acc = float((self.judge.predict(images01[self.gallery]) == faces.expression[self.gallery]).float().mean())

    def id_real_acc(self) -> float:
        """Identity retrieval on the real held-out images themselves (each against all the others): the ceiling of id_acc."""
        sims = self.gallery_emb @ self.gallery_emb.T
        sims.fill_diagonal_(-float("inf"))
        return float((self.gallery_ids[sims.argmax(1)] == self.gallery_ids).float().mean())

    def _id_hits(self, out01: torch.Tensor, target_idx: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        sims = self.idnet.embed_all(out01) @ self.gallery_emb.T
        sims[self.gallery[None, :] == target_idx[:, None]] = -float("inf")  # not the true target image itself
        return self.gallery_ids[sims.argmax(1)] == identity

    @torch.no_grad()
    def evaluate(self, pairs: torch.Tensor, translate: Callable | None = None, pixels=None, baseline: str | None = None,
                 batch_size: int = 64, max_sources: int = 32, device: str | torch.device = "cpu") -> dict:
        """Metrics over `pairs` [P, 2] for `translate` (network range; with `pixels`) or a baseline:
        `copy` (the input), `oracle` (the real target), `aligned` (the real target warped into the
        input's pose by the eyes: what a perfect model trained on eye-aligned targets would output),
        `composite` (the input outside the region where the aligned target differs from it, the
        aligned target relit like the input inside: what a perfect attention generator with
        `targets.rec_target=composite targets.relight=true` outputs; losses/pixel_terms.py relit_change)."""
        if baseline not in (None, *BASELINES):
            raise ValueError(f"baseline={baseline!r}: expected one of {', '.join(BASELINES)}")
        faces, e = self.faces, self.num_expressions
        confusion = torch.zeros(e, e, dtype=torch.long)
        sums = {k: 0.0 for k in ("expr", "source_expr", "id", "l1", "psnr", "ssim", "moved", "truth_moved")}
        outputs = []  # uint8, for the realism metrics
        for i in range(0, len(pairs), batch_size):
            src, tgt = pairs[i : i + batch_size, 0], pairs[i : i + batch_size, 1]
            src01, tgt01 = faces.images[src].float() / 255, faces.images[tgt].float() / 255
            target_expr = faces.expression[tgt]
            out01 = self._outputs(src, tgt, translate, pixels, baseline, device)
            outputs.append(to_uint8(out01))
            if self.judge is not None:
                pred = self.judge.predict(out01)
                confusion += torch.bincount(target_expr * e + pred, minlength=e * e).view(e, e)
                sums["expr"] += float((pred == target_expr).sum())
                sums["source_expr"] += float((pred == faces.expression[src]).sum())
                sums["id"] += float(self._id_hits(out01, tgt, faces.identity[src]).sum())
            sums["l1"] += float((out01 - tgt01).abs().mean(dim=(1, 2, 3)).sum())
            sums["psnr"] += float(peak_signal_noise_ratio(out01, tgt01, data_range=1.0, reduction="none",
                                                          dim=(1, 2, 3)).clamp(max=100).sum())
            sums["ssim"] += float(structural_similarity_index_measure(out01, tgt01, data_range=1.0, reduction="none").sum())
            sums["moved"] += float((out01 - src01).abs().mean(dim=(1, 2, 3)).sum())
            sums["truth_moved"] += float((tgt01 - src01).abs().mean(dim=(1, 2, 3)).sum())
        n = max(len(pairs), 1)
        metrics = {"expr_acc": sums["expr"] / n, "source_expr_acc": sums["source_expr"] / n, "id_acc": sums["id"] / n,
                   "l1": sums["l1"] / n,
                   "psnr": sums["psnr"] / n, "ssim": sums["ssim"] / n,
                   "copy_ratio": sums["moved"] / max(sums["truth_moved"], 1e-12),
                   "cond_sensitivity": self._cond_sensitivity(pairs, translate, pixels, baseline, max_sources, device)}
        outputs = torch.cat(outputs) if outputs else faces.images[:0]
        metrics.update(self._realism(pairs, outputs, translate, pixels, baseline, batch_size, device))
        if self.judge is None:  # not measured: absent, not zero
            metrics = {k: v for k, v in metrics.items() if k not in REFEREE_KEYS}
        return {**metrics, "confusion": confusion.tolist(), "num_pairs": len(pairs)}

    def _realism(self, pairs, outputs, translate, pixels, baseline, batch_size, device) -> dict:
        """c2st_acc, sharpness and sharpness_aligned_real for held-out `pairs` whose outputs (uint8) are given."""
        images = self.faces.images
        targets = images[pairs[:, 1]]
        known = torch.isfinite(self.faces.eyes[pairs].flatten(1)).all(1)
        aligned = aligned_pair_targets(images, self.faces.eyes, pairs[known]) if known.any() else None
        result = {"sharpness": sharpness(outputs, targets),
                  "sharpness_aligned_real": sharpness(aligned, targets[known]) if aligned is not None else float("nan"),
                  "c2st_acc": float("nan"), "c2st_std": float("nan"), "c2st_runs": []}
        if self.c2st_pairs is not None and len(self.c2st_pairs) and len(pairs):
            train = self.c2st_pairs
            fakes = torch.cat([to_uint8(self._outputs(train[i : i + batch_size, 0], train[i : i + batch_size, 1],
                                                      translate, pixels, baseline, device))
                               for i in range(0, len(train), batch_size)])
            runs = c2st_runs(images[train[:, 1]], fakes, targets, outputs,
                             progress="C2ST classifiers" if self.show_progress else None, **self.c2st)
            result["c2st_acc"], result["c2st_std"] = mean_and_spread(runs)
            result["c2st_runs"] = runs
        return result

    def _outputs(self, src: torch.Tensor, tgt: torch.Tensor, translate, pixels, baseline, device) -> torch.Tensor:
        """[0, 1] outputs for source images `src` edited to the expressions of images `tgt` (indices)."""
        faces = self.faces
        if baseline == "copy":
            return faces.images[src].float() / 255
        if baseline == "oracle":
            return faces.images[tgt].float() / 255
        if baseline == "blur2x":  # the C2ST's positive control: the real targets, visibly softened
            return blur2x(faces.images[tgt]).float() / 255
        if baseline in ("aligned", "composite"):
            aligned = align_to(faces.images[tgt].float(), faces.eyes[src], faces.eyes[tgt]) / 255
            if baseline == "aligned":
                return aligned
            source = faces.images[src].float() / 255
            region, relit = relit_change(source, aligned)
            return paste(source, relit, region).clamp(0, 1)
        return self._translate(src, faces.expression[tgt], translate, pixels, device)

    def _translate(self, src: torch.Tensor, target_expr: torch.Tensor, translate, pixels, device) -> torch.Tensor:
        """[0, 1] outputs of the model for source images `src` and target expressions `target_expr`."""
        onehot = torch.nn.functional.one_hot(target_expr, self.num_expressions).float().to(device)
        out = translate(pixels.encode(self.faces.images[src]).to(device), onehot)
        return pixels.decode(out.float()).cpu()

    def _cond_sensitivity(self, pairs, translate, pixels, baseline, max_sources, device) -> float:
        faces, e = self.faces, self.num_expressions
        sources = torch.unique(pairs[:, 0])[:max_sources]
        if baseline == "copy" or len(sources) == 0:
            return 0.0
        total, count = 0.0, 0
        for s in sources.tolist():
            if baseline is None:  # the model, to every expression
                outs = self._translate(torch.full((e,), s), torch.arange(e), translate, pixels, device)
            else:  # the person's real image of each expression (warped into the source's pose for `aligned`)
                mine = faces.identity == faces.identity[s]
                tgt = torch.tensor([int((mine & (faces.expression == k)).nonzero()[0, 0])
                                    for k in range(e) if (mine & (faces.expression == k)).any()])
                outs = self._outputs(torch.full((len(tgt),), s), tgt, translate, pixels, baseline, device)
            diffs = (outs[:, None] - outs[None, :]).abs().mean(dim=(2, 3, 4))
            k = len(outs)
            total += float(diffs.sum()) / max(k * (k - 1), 1)
            count += 1
        return total / max(count, 1)


def evaluator_for(dm, referee: dict | None = None, heldout: str = "test", c2st: dict | None = None,
                  referees: bool = True, with_c2st: bool = True) -> Evaluator:
    """An Evaluator for a set-up FacePairsDataModule: referees on its train people (`referees=False`:
    none), galleries of `heldout` people, the C2ST (`with_c2st=False`: none) trained on a fixed, seeded
    subset of training pairs (`c2st.train_pairs` of them)."""
    dm.setup()
    pairs = {"val": dm.val_pairs, "test": dm.test_pairs if len(dm.test_pairs) else dm.val_pairs}[heldout]
    train_ids = torch.unique(dm.faces.identity[dm.train_pairs[:, 0]])
    heldout_ids = torch.unique(dm.faces.identity[pairs[:, 0]])
    settings = {**C2ST_DEFAULTS, **(c2st or {})}
    order = torch.randperm(len(dm.train_pairs), generator=torch.Generator().manual_seed(settings["seed"]))
    c2st_pairs = dm.train_pairs[order[: int(settings["train_pairs"])]] if with_c2st else None
    return Evaluator(dm.faces, train_ids, heldout_ids, dm.fingerprint(), dm.cache_dir, referee, c2st_pairs, settings,
                     referees=referees)
