"""The evaluator: every registered metric for a model or a baseline, on held-out people.

The metrics are one file each in expr_gan/metrics/kinds/ (the registry: expr_gan/metrics/registry.py),
all on display-range images in [0, 1]: expr_acc and source_expr_acc (the judge), id_acc (the
identity net), c2st_acc and c2st_std (a fresh classifier two-sample test), sharpness, l1, psnr,
ssim, copy_ratio and cond_sensitivity. The evaluator trains or loads the referees and the C2ST's
training pairs, makes the outputs batch by batch, and hands them to every metric whose needs it meets.
"""
from __future__ import annotations

from typing import Callable

import torch

from expr_gan.errors import UsageError
from expr_gan.data.align import align_to
from expr_gan.data.faceset import FaceSet
from expr_gan.imaging import paste, relit_change
from expr_gan.metrics.realism import C2STSettings, blur2x, to_uint8
from expr_gan.referees import load_or_train_referee, referee_settings
from expr_gan.metrics import registry
from expr_gan.metrics.registry import Batch, Run

BASELINES = ("copy", "oracle", "aligned", "composite", "blur2x")


class Evaluator:
    """Referees trained on `train_ids`' real images; galleries of `heldout_ids`' real images.

    `c2st_pairs`: pairs of training people on which the C2ST classifier learns (outputs against their
    real targets); None skips the C2ST. `c2st`: its settings (a run's `c2st` node; realism.C2STSettings).
    `referees=False`: no judge and no identity net (none trained or loaded): the metrics without them
    (`metric_keys()`).
    """

    def __init__(self, faces: FaceSet, train_ids: torch.Tensor, heldout_ids: torch.Tensor, fingerprint: dict,
                 cache_dir=None, referee: dict | None = None, c2st_pairs: torch.Tensor | None = None,
                 c2st: dict | None = None, referees: bool = True):
        self.faces, self.num_expressions = faces, faces.num_expressions
        self.c2st_pairs = c2st_pairs
        self.c2st = c2st if isinstance(c2st, C2STSettings) else C2STSettings.from_config(c2st)
        self.show_progress = False  # progress bars for the C2ST (a CLI turns them on; never inside Lightning's bar)
        self.judge = self.idnet = None
        self.judge_real_acc = float("nan")
        if referees:
            self._load_referees(train_ids, heldout_ids, fingerprint, cache_dir, referee)

    def available(self) -> tuple[str, ...]:
        """What this evaluator has of the registry's NEEDS: referees, c2st."""
        return tuple(n for n, has in (("referees", self.judge is not None), ("c2st", self.c2st_pairs is not None)) if has)

    def metric_keys(self) -> tuple[str, ...]:
        """The registered metrics' columns this evaluator computes (without referees or a C2ST: fewer)."""
        return registry.metric_keys(self.available())

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

    def id_hits(self, out01: torch.Tensor, target_idx: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
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
        `targets.rec_target=composite targets.relight=true` outputs; imaging.py relit_change)."""
        if baseline not in (None, *BASELINES):
            raise UsageError(f"baseline={baseline!r}: expected one of {', '.join(BASELINES)}")
        faces, e = self.faces, self.num_expressions
        available = set(self.available())
        measures = [m.measure(self, pairs) for m in registry.metrics() if set(m.needs) <= available]
        outputs = []  # uint8, for the metrics that look at all of them
        for i in range(0, len(pairs), batch_size):
            src, tgt = pairs[i : i + batch_size, 0], pairs[i : i + batch_size, 1]
            out01 = self._outputs(src, tgt, translate, pixels, baseline, device)
            outputs.append(to_uint8(out01))
            batch = Batch(src, tgt, faces.images[src].float() / 255, faces.images[tgt].float() / 255, out01,
                          faces.expression[tgt])
            for measure in measures:
                measure.batch(batch)
        run = Run(self, pairs, torch.cat(outputs) if outputs else faces.images[:0],
                  lambda s, t: self._outputs(s, t, translate, pixels, baseline, device),
                  translate, pixels, baseline, batch_size, max_sources, device)
        values = {"confusion": torch.zeros(e, e, dtype=torch.long).tolist()}  # all zero where no judge reads
        for measure in measures:
            values.update(measure.result(run))
        return {**values, "num_pairs": len(pairs)}

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
        return self.translate_to(src, faces.expression[tgt], translate, pixels, device)

    def translate_to(self, src: torch.Tensor, target_expr: torch.Tensor, translate, pixels, device) -> torch.Tensor:
        """[0, 1] outputs of the model for source images `src` and target expressions `target_expr`."""
        onehot = torch.nn.functional.one_hot(target_expr, self.num_expressions).float().to(device)
        out = translate(pixels.encode(self.faces.images[src]).to(device), onehot)
        return pixels.decode(out.float()).cpu()


def evaluator_for(dm, referee: dict | None = None, heldout: str = "test", c2st: dict | None = None,
                  referees: bool = True, with_c2st: bool = True) -> Evaluator:
    """An Evaluator for a set-up FacePairsDataModule: referees on its train people (`referees=False`:
    none), galleries of `heldout` people, the C2ST (`with_c2st=False`: none) trained on a fixed, seeded
    subset of training pairs (`c2st.train_pairs` of them)."""
    dm.setup()
    pairs = {"val": dm.val_pairs, "test": dm.test_pairs if len(dm.test_pairs) else dm.val_pairs}[heldout]
    train_ids = torch.unique(dm.faces.identity[dm.train_pairs[:, 0]])
    heldout_ids = torch.unique(dm.faces.identity[pairs[:, 0]])
    settings = C2STSettings.from_config(c2st)
    order = torch.randperm(len(dm.train_pairs), generator=torch.Generator().manual_seed(settings.seed))
    c2st_pairs = dm.train_pairs[order[: settings.train_pairs]] if with_c2st else None
    return Evaluator(dm.faces, train_ids, heldout_ids, dm.fingerprint(), dm.cache_dir, referee, c2st_pairs, settings,
                     referees=referees)
