"""Metrics on constructed cases, referee caching, and the evaluate CLI."""
import json
from pathlib import Path

import pytest
import torch

from expr_gan.data.datamodule import FacePairsDataModule
from expr_gan.data.synthetic import SyntheticFaces
from expr_gan.metrics.evaluator import evaluator_for
from expr_gan.commands.train import train
from conftest import REPO, run_cli

REFEREE = {"epochs": 12, "width": 16, "seed": 0}
QUICK_C2ST = {"steps": 60, "width": 8, "train_pairs": 96}  # its power is tested in test_realism.py


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cache = tmp_path_factory.mktemp("refcache")
    dm = FacePairsDataModule(SyntheticFaces(num_identities=30, size=32, alignment="shared"), size=32,
                             split_fractions=(0.6, 0.2, 0.2), cache_dir=cache)
    dm.setup()
    return dm, evaluator_for(dm, REFEREE, heldout="test", c2st=QUICK_C2ST), cache


def test_copy_baseline(setup):
    dm, ev, _ = setup
    m = ev.evaluate(dm.test_pairs, baseline="copy")
    assert m["copy_ratio"] == 0.0 and m["cond_sensitivity"] == 0.0
    assert m["expr_acc"] < 0.3  # the copy shows the source expression, never the target
    assert abs(m["c2st_acc"] - 0.5) < 0.1 and m["sharpness"] == pytest.approx(1.0, abs=0.2)  # real photos


def test_oracle_baseline_matches_the_referees_real_accuracy(setup):
    dm, ev, _ = setup
    m = ev.evaluate(dm.test_pairs, baseline="oracle")
    assert m["l1"] == 0.0 and m["copy_ratio"] == pytest.approx(1.0) and m["ssim"] == pytest.approx(1.0)
    # each target image appears 5 times (once per source); the judge's real accuracy counts it once
    targets = torch.unique(dm.test_pairs[:, 1])
    images = dm.faces.images[targets].float() / 255
    real_acc = float((ev.judge.predict(images) == dm.faces.expression[targets]).float().mean())
    assert m["expr_acc"] == pytest.approx(real_acc)
    assert ev.judge_real_acc == pytest.approx(real_acc)  # the gallery is exactly these images
    assert ev.judge_real_acc > 0.6
    assert m["cond_sensitivity"] > 0
    assert m["c2st_acc"] == 0.5 and m["sharpness"] == pytest.approx(1.0)  # the targets themselves


def test_aligned_baseline_is_the_warped_target(setup):
    dm, ev, _ = setup
    m = ev.evaluate(dm.test_pairs[:40], baseline="aligned")
    oracle = ev.evaluate(dm.test_pairs[:40], baseline="oracle")
    # shared alignment: the eyes of a person's captures coincide, the warp is the identity up to resampling
    assert m["l1"] < 0.01 and m["expr_acc"] == oracle["expr_acc"]
    assert m["sharpness_aligned_real"] == pytest.approx(m["sharpness"])


def test_composite_baseline_is_the_source_with_the_relit_aligned_target_where_it_changed(setup):
    from expr_gan.imaging import relit_change

    dm, ev, _ = setup
    pairs = dm.test_pairs[:40]
    out = ev._outputs(pairs[:, 0], pairs[:, 1], None, None, "composite", "cpu")
    aligned = ev._outputs(pairs[:, 0], pairs[:, 1], None, None, "aligned", "cpu")
    source = dm.faces.images[pairs[:, 0]].float() / 255
    region, relit = relit_change(source, aligned)
    inside = region.bool().expand_as(out)
    assert 0 < inside.float().mean() < 0.5  # an expression is a local change
    assert torch.equal(out[inside], relit.clamp(0, 1)[inside]) and torch.equal(out[~inside], source[~inside])
    m, copy = ev.evaluate(pairs, baseline="composite"), ev.evaluate(pairs, baseline="copy")
    # the tiny 32 px judge reads 0.35-0.40 against the copy's 0.075 (0.95 at 64 px, docs/metrics.md)
    assert m["expr_acc"] > copy["expr_acc"] + 0.2 and m["id_acc"] == copy["id_acc"]


def test_another_persons_face_with_the_right_expression(setup):
    """Right expression, wrong person: high expr_acc, low id_acc (the metric sees identity loss)."""
    dm, ev, _ = setup
    faces = dm.faces
    people = torch.unique(faces.identity)  # every person: the C2ST also translates training people's pairs
    swap = {int(p): int(people[(i + 1) % len(people)]) for i, p in enumerate(people)}

    def other_person(source, onehot):
        # look up by identity of each source image (pixels -> index via exact match)
        out = []
        for img, e in zip(source, onehot.argmax(1)):
            idx = int(((dm.pixels.encode(faces.images) - img).abs().flatten(1).sum(1)).argmin())
            person = swap[int(faces.identity[idx])]
            j = int(((faces.identity == person) & (faces.expression == e)).nonzero()[0, 0])
            out.append(dm.pixels.encode(faces.images[j]))
        return torch.stack(out)

    pairs = dm.test_pairs[:60]
    m = ev.evaluate(pairs, other_person, dm.pixels)
    oracle = ev.evaluate(pairs, baseline="oracle")
    # the right expression is seen on another person's face: at least twice chance (this tiny judge,
    # 12 epochs at 32 px, reads these 60 swapped faces at 0.42-0.50 against 0.78 on the test gallery)
    assert m["expr_acc"] >= 2 / dm.faces.num_expressions, (m["expr_acc"], ev.judge_real_acc)
    assert m["id_acc"] < 0.3 < oracle["id_acc"]


def test_referees_are_reused_from_cache(setup, monkeypatch):
    dm, _, cache = setup
    files = sorted(p.name for p in Path(cache).glob("*.pt") if not p.name.startswith("synthetic"))
    assert len(files) == 2 and any(f.startswith("judge-") for f in files)
    import expr_gan.referees as referees
    monkeypatch.setattr(referees, "train_referee", lambda *a, **k: pytest.fail("retrained despite the cache"))
    again = evaluator_for(dm, REFEREE, heldout="test")
    assert again.judge_real_acc == setup[1].judge_real_acc


def test_evaluate_cli_writes_files_and_rejects_bad_input(generation_ckpt, tmp_path, cache_dir):
    ckpt = generation_ckpt
    result = run_cli("expr_gan.evaluate", f"ckpt={ckpt}", f"out={tmp_path}/ev", "data.num_identities=20",
                     cwd=REPO, env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    for key in ("expr_acc", "id_acc", "c2st_acc", "sharpness", "l1", "psnr", "ssim", "copy_ratio", "cond_sensitivity",
                "judge_real_acc", "id_real_acc", "sharpness_aligned_real"):
        assert isinstance(metrics[key], float) and metrics[key] == metrics[key], key  # a number, not NaN
    assert metrics["baselines"]["copy"]["copy_ratio"] == 0.0 and metrics["baselines"]["oracle"]["l1"] == 0.0
    assert metrics["baselines"]["oracle"]["c2st_acc"] == 0.5 and set(metrics["baselines"]) == {
        "copy", "oracle", "aligned", "composite", "blur2x"}
    assert metrics["baselines"]["oracle"]["c2st_std"] == 0.0 and len(metrics["c2st_runs"]) == 3  # c2st.seeds
    assert metrics["c2st_acc"] == pytest.approx(sum(metrics["c2st_runs"]) / 3)
    assert metrics["baselines"]["blur2x"]["sharpness"] < 0.6  # the positive control is visibly softer
    assert metrics["baselines"]["aligned"]["sharpness"] == pytest.approx(metrics["sharpness_aligned_real"])
    from PIL import Image
    assert Image.open(tmp_path / "ev" / "confusion.png").size == (110 + 6 * 56 + 10,) * 2  # 6 x 6 cells
    table = (tmp_path / "ev" / "metrics.md").read_text()
    assert "| copy |" in result.stdout and "| oracle |" in table and "| blur2x |" in table
    assert "c2st_acc | c2st_std | sharpness" in table

    bad = run_cli("expr_gan.evaluate", f"ckpt={tmp_path}/missing.ckpt", cwd=REPO)
    assert bad.returncode == 2 and "missing.ckpt does not exist" in bad.stderr
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(ckpt.read_bytes()[:1000])
    bad = run_cli("expr_gan.evaluate", f"ckpt={truncated}", cwd=REPO)
    assert bad.returncode == 2 and "truncated, corrupt" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_cli("expr_gan.evaluate", "checkpoint=x", cwd=REPO)
    assert bad.returncode == 2 and "missing ckpt=..." in bad.stderr
    bad = run_cli("expr_gan.evaluate", f"ckpt={ckpt}", "data.num_identitis=20", cwd=REPO)  # a typo: nothing measured
    assert bad.returncode == 2 and "no key 'data.num_identitis'" in bad.stderr


def test_training_logs_val_metrics(make_cfg):
    """The val/ values logged at the last validation are the evaluator's values for the weights in
    last.ckpt (written at the end of that validation), on the callback's fixed pairs."""
    from hydra.utils import instantiate

    from expr_gan.checkpoint import load_run
    from expr_gan.metrics.registry import metric_keys

    cfg = make_cfg("logger=none", "callbacks.eval_metrics.referees=true", "callbacks.eval_metrics.c2st=${c2st}")
    metrics = train(cfg)
    module, dm, stored = load_run(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    callback = instantiate(stored.callbacks.eval_metrics)
    callback.prepare(dm)
    again = callback.evaluator.evaluate(callback.pairs, module.translate, dm.pixels, max_sources=callback.max_sources)
    for key in metric_keys():  # every registered metric is logged
        assert metrics[f"val/{key}"] == pytest.approx(again[key], abs=1e-6), key
    assert metrics["val/judge_real_acc"] == callback.evaluator.judge_real_acc > 1 / 6  # better than chance (6 classes)


def test_generate_cli(generation_ckpt, tmp_path, cache_dir):
    from PIL import Image
    from expr_gan.commands.render import main as export
    ckpt = generation_ckpt
    assert export([f"out={tmp_path}/faces", "num_identities=2", "size=96"]) == 0
    photo = tmp_path / "photo.jpg"  # a face off-centre on a wider canvas, as a JPEG
    canvas = Image.new("RGB", (200, 120), (30, 60, 90))
    canvas.paste(Image.open(tmp_path / "faces" / "synth0000" / "neutral.png"), (10, 12))
    canvas.save(photo)
    result = run_cli("expr_gan.generate", f"ckpt={ckpt}", f"input={photo}", f"out={tmp_path}/gen", "detector=center", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no face found; using a centre crop" in result.stderr
    grid = Image.open(tmp_path / "gen" / "photo_grid.png")
    assert grid.size == (7 * 34 + 2, 34 + 2)  # input + 6 expressions at the model's 32 px
    result = run_cli("expr_gan.generate", f"ckpt={ckpt}", f"input={tmp_path}/faces/synth0001", f"out={tmp_path}/gen2",
                     "target=laughing", "strength=0.5", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list((tmp_path / "gen2").glob("*_grid.png"))) == 6 and "laughing x0.5" in result.stdout
    result = run_cli("expr_gan.generate", f"ckpt={ckpt}", f"input={photo}", f"out={tmp_path}/gen3",
                     "mix={laughing:0.5,surprise:0.5}", "detector=center", cwd=REPO)
    assert result.returncode == 0 and Image.open(tmp_path / "gen3" / "photo_grid.png").size == (2 * 34 + 2, 36)

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    bad = run_cli("expr_gan.generate", f"ckpt={ckpt}", f"input={broken}", cwd=REPO)
    assert bad.returncode == 2 and "broken.png is not a readable image" in bad.stderr
    bad = run_cli("expr_gan.generate", f"ckpt={ckpt}", f"input={photo}", "target=smirk", cwd=REPO)
    assert bad.returncode == 2 and "unknown expression 'smirk'" in bad.stderr
    bad = run_cli("expr_gan.generate", f"ckpt={ckpt}", f"input={tmp_path}/nothing", cwd=REPO)
    assert bad.returncode == 2 and "nothing does not exist" in bad.stderr


def test_generate_on_a_real_photograph(generation_ckpt, tmp_path):
    """The report's Figure 12: a real photo (matplotlib's bundled Grace Hopper portrait), face found by OpenCV."""
    from PIL import Image
    import matplotlib
    photo = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    ckpt = generation_ckpt
    result = run_cli("expr_gan.generate", f"ckpt={ckpt}", f"input={photo}", f"out={tmp_path}/gen", "detector=haar", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "face by haar" in result.stdout and "centre crop" not in result.stderr
    assert Image.open(tmp_path / "gen" / "grace_hopper_grid.png").size == (7 * 34 + 2, 36)


def test_referees_leave_the_global_rng_as_they_found_it(tmp_path):
    """Training a referee (dropout) and loading one (initial weights) must not move the global RNG:
    otherwise a run's weights depend on whether its critic and referees were cached."""
    from expr_gan.referees import load_or_train_referee

    images, labels = torch.rand(8, 3, 16, 16), torch.arange(8) % 2
    for _ in ("cold", "warm"):
        torch.manual_seed(123)
        expected = torch.rand(3)
        torch.manual_seed(123)
        load_or_train_referee(tmp_path, "judge", {"data": "t"}, images, labels, 2, {"epochs": 1, "width": 4})
        assert torch.equal(torch.rand(3), expected)
    assert len(list(tmp_path.glob("judge-*.pt"))) == 1


def test_a_referees_weights_do_not_depend_on_the_global_rng():
    """The seed fixes every random draw of referee training, dropout masks included: the same seed
    from two different global RNG states gives the same weights (the cache is then the same whichever
    command trained it), and another seed gives other weights."""
    from expr_gan.referees import train_referee

    images, labels = torch.rand(16, 3, 16, 16), torch.arange(16) % 2
    weights = []
    for global_seed, seed in ((1, 0), (2, 0), (1, 5)):
        torch.manual_seed(global_seed)
        model = train_referee(images, labels, 2, epochs=1, width=4, seed=seed)
        weights.append(model.head[1].weight.detach().clone())
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], weights[2])


def test_evaluation_schedule_every_n_epochs_and_the_last():
    """every_n_epochs=N evaluates epochs N, 2N, ... and the last; null only the last (the default run);
    never under fast_dev_run or the sanity check."""
    from types import SimpleNamespace

    from expr_gan.callbacks.eval_metrics import EvalMetrics

    def due(every, epoch, max_epochs=5, **state):
        trainer = SimpleNamespace(**{"sanity_checking": False, "fast_dev_run": False, "datamodule": object(),
                                     "should_stop": False, "current_epoch": epoch, "max_epochs": max_epochs, **state})
        return EvalMetrics(every_n_epochs=every)._due(trainer)

    assert [e for e in range(5) if due(3, e)] == [2, 4]
    assert [e for e in range(5) if due(None, e)] == [4]
    assert due(None, 1, should_stop=True)  # a run stopped early (max_batches) is evaluated at its last validation
    assert not due(1, 4, fast_dev_run=True) and not due(1, 4, sanity_checking=True)


def test_an_evaluator_without_referees_or_c2st_measures_the_rest_the_same(setup):
    """referees=False trains and loads no referee; its metrics are absent, not zero, and every other
    metric equals the full evaluator's."""
    dm, ev, cache = setup
    light = evaluator_for(dm, REFEREE, heldout="test", referees=False, with_c2st=False)
    assert light.judge is None and light.idnet is None
    assert set(light.metric_keys()) == {"sharpness", "l1", "psnr", "ssim", "copy_ratio", "cond_sensitivity"}
    full = ev.evaluate(dm.test_pairs[:40], baseline="aligned")
    m = light.evaluate(dm.test_pairs[:40], baseline="aligned")
    assert not {"expr_acc", "id_acc", "source_expr_acc"} & set(m)
    for key in light.metric_keys():
        assert m[key] == full[key], key
