"""The metric registry (one file per metric, read by the evaluator, evaluate, report and the
replication) and the C2ST's one settings object."""
import json
from dataclasses import replace

import pytest
import torch

from expr_gan.metrics import registry
from expr_gan.metrics.realism import C2STSettings
from expr_gan.metrics.registry import Measure, Metric, metric_keys, metrics, table_columns


def test_every_metric_file_is_registered_in_table_order():
    names = [m.name for m in metrics()]
    assert names == ["expression", "identity", "c2st", "sharpness", "fidelity", "copy_ratio", "cond_sensitivity"]
    assert table_columns() == ("expr_acc", "id_acc", "c2st_acc", "c2st_std", "sharpness", "l1", "psnr", "ssim",
                               "copy_ratio", "cond_sensitivity")
    assert "source_expr_acc" in metric_keys() and "source_expr_acc" not in table_columns()  # computed, not tabled
    assert set(metric_keys(())) == {"sharpness", "l1", "psnr", "ssim", "copy_ratio", "cond_sensitivity"}
    assert set(metric_keys(("referees",))) - set(metric_keys(())) == {"expr_acc", "source_expr_acc", "id_acc"}
    assert "c2st:2" in registry.version() and "fidelity:1" in registry.version()


def test_a_metric_states_what_it_needs_and_no_column_is_claimed_twice(monkeypatch):
    with pytest.raises(ValueError, match="unknown needs \\['gpu'\\]"):
        Metric("x", ("x",), Measure, order=1, needs=frozenset({"gpu"}))
    import expr_gan.metrics.kinds.copy_ratio as module

    monkeypatch.setattr(module, "METRIC", replace(module.METRIC, columns=("copy_ratio", "cond_sensitivity")))
    registry.metrics.cache_clear()
    try:
        with pytest.raises(ValueError, match="reported by two metrics: \\['cond_sensitivity'\\]"):
            metrics()
    finally:
        monkeypatch.undo()
        registry.metrics.cache_clear()
    assert len(metrics()) == 7


class _MeanBrightness(Measure):
    """A metric written as a user would: the outputs' mean grey level, from the batches."""

    def __init__(self, evaluator, pairs):
        super().__init__(evaluator, pairs)
        self.total = 0.0

    def batch(self, b):
        self.total += float(b.out01.mean(dim=(1, 2, 3)).sum())

    def result(self, run):
        return {"brightness": self.total / max(len(run.pairs), 1)}


def test_a_new_metric_is_one_registration_and_reaches_evaluate_and_report(monkeypatch, generation_ckpt, tmp_path):
    """A metric added to the registry is computed by the evaluator, written by evaluate and shown by
    report, with no other change."""
    from expr_gan.commands.command import run
    from expr_gan.commands.evaluate import main as evaluate_main
    from expr_gan.commands.report import main as report_main

    extra = Metric("brightness", ("brightness",), _MeanBrightness, order=55)
    registered = metrics()
    monkeypatch.setattr(registry, "metrics", lambda: tuple(sorted((*registered, extra), key=lambda m: m.order)))
    out = tmp_path / "ev"
    assert run(evaluate_main, [f"ckpt={generation_ckpt}", "max_pairs=8", "c2st.steps=4", "c2st.train_pairs=16",
                               "baselines=[copy]", f"out={out}"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert 0 < result["brightness"] < 1 and 0 < result["baselines"]["copy"]["brightness"] < 1
    assert "| ssim | brightness | copy_ratio |" in (out / "metrics.md").read_text()  # in its place by `order`
    assert run(report_main, [f"dir={tmp_path}", f"out={tmp_path}/report"]) == 0
    assert "brightness" in (tmp_path / "report" / "report.md").read_text()


def test_c2st_settings_are_one_object_with_train_yamls_defaults():
    from omegaconf import OmegaConf

    from expr_gan.config import config_dir

    defaults = C2STSettings.from_config()
    assert defaults.as_dict() == OmegaConf.to_container(OmegaConf.load(f"{config_dir()}/train.yaml").c2st)
    assert C2STSettings.from_config({"steps": 7}).steps == 7 and C2STSettings.from_config({"steps": 7}).seeds == defaults.seeds
    assert "train_pairs" not in defaults.classifier()
    with pytest.raises(ValueError, match="c2st: unknown key\\(s\\) stpes; expected some of steps, batch_size"):
        C2STSettings.from_config({"stpes": 7})


def test_evaluate_names_a_c2st_typo(generation_ckpt, tmp_path, capsys):
    from expr_gan.commands.command import run
    from expr_gan.commands.evaluate import main

    assert run(main, [f"ckpt={generation_ckpt}", "+c2st.stpes=4", f"out={tmp_path}/ev"]) == 2
    assert "stpes" in capsys.readouterr().err and not (tmp_path / "ev").exists()


def test_evaluator_runs_only_the_metrics_whose_needs_it_meets():
    """Without referees and a C2ST the evaluator still returns a zero confusion matrix and every other metric."""
    from expr_gan.data.synthetic import SyntheticFaces
    from expr_gan.metrics.evaluator import Evaluator

    faces = SyntheticFaces(num_identities=4, size=32, seed=0).load(None)
    ev = Evaluator(faces, torch.tensor([0, 1]), torch.tensor([2, 3]), {}, referees=False)
    pairs = torch.tensor([[i, i + 1] for i in range(0, 12, 2)])
    values = ev.evaluate(pairs, baseline="copy")
    assert set(values) == {*metric_keys(()), "confusion", "num_pairs", "sharpness_aligned_real"}
    assert values["copy_ratio"] == 0 and values["cond_sensitivity"] == 0 and values["num_pairs"] == 6
