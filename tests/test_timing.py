"""Where a run's time goes: the timing record (expr_gan/timing.py), timings.json in every run dir, and
smoke runs (fast_dev_run) that skip the slow work a real run needs."""
import json
import time
from pathlib import Path

import pytest

from expr_gan import timing
from expr_gan.commands.train import train


def test_phases_nest_and_own_times_add_up():
    with timing.recording() as record:
        with timing.timed("outer", kind="x") as outer:
            time.sleep(0.05)
            with timing.timed("inner"):
                timing.note(cached=True)
                time.sleep(0.1)
            outer["batches"] = 3
        time.sleep(0.02)
    summary = record.summary()
    phases = {p["name"]: p for p in summary["phases"]}
    assert [p["name"] for p in summary["phases"]] == ["outer", "inner"]  # by start: a parent before its child
    assert phases["inner"]["cached"] is True and phases["inner"]["depth"] == 1
    assert phases["outer"]["kind"] == "x" and phases["outer"]["batches"] == 3
    assert phases["outer"]["seconds"] == pytest.approx(0.15, abs=0.04)
    assert phases["outer"]["own_seconds"] == pytest.approx(0.05, abs=0.02)  # without inner's 0.1 s
    own = sum(p["own_seconds"] for p in summary["phases"])
    assert own + summary["unaccounted_seconds"] == pytest.approx(summary["total_seconds"], abs=0.01)
    assert summary["unaccounted_seconds"] >= 0.015  # the sleep outside every phase
    assert summary["by_kind"] == {"outer": phases["outer"]["own_seconds"], "inner": phases["inner"]["own_seconds"]}


def test_a_failing_phase_is_recorded_and_closes_what_it_left_open():
    with timing.recording() as record:
        with pytest.raises(RuntimeError):
            with timing.timed("failing"):
                record.begin("left open by the error")
                raise RuntimeError("boom")
        with timing.timed("after"):
            pass
    names = [p["name"] for p in record.summary()["phases"]]
    assert names == ["failing", "left open by the error", "after"]
    assert next(p for p in record.phases if p["name"] == "after")["depth"] == 0


def test_outside_a_recording_timed_is_a_no_op():
    assert timing.active() is None
    with timing.timed("nothing", a=1) as details:
        timing.note(cached=True)
    assert details == {"a": 1}


def test_process_started_is_before_now():
    assert 0 <= time.perf_counter() - timing.process_started() < 3600


def _phases(run: Path) -> dict:
    summary = json.loads((run / "timings.json").read_text())
    own = sum(p["own_seconds"] for p in summary["phases"])
    assert own + summary["unaccounted_seconds"] == pytest.approx(summary["total_seconds"], abs=0.05)
    return {p["name"]: p for p in summary["phases"]}


def test_every_run_records_its_time_breakdown(make_cfg, tmp_path):
    """A cold run (an empty cache) renders and trains its referees; a second run finds them cached.
    Each epoch's training and validation, each evaluation and sample grid are their own phases."""
    cold_cache = tmp_path / "cold_cache"
    cfg = make_cfg("logger=none", "callbacks.eval_metrics.every_n_epochs=1", "callbacks.eval_metrics.referees=true",
                   "callbacks.eval_metrics.c2st=${c2st}")
    cfg.paths.cache_dir = str(cold_cache)
    train(cfg)
    cold = _phases(Path(cfg.paths.output_dir))
    assert cold["data/synthetic"]["cached"] is False and cold["data/synthetic"]["images"] == 12 * 6
    assert cold["referee/judge"]["cached"] is False and cold["referee/identity"]["cached"] is False
    for epoch in (0, 1):
        assert cold[f"epoch/{epoch}/train"]["batches"] > 0 and cold[f"epoch/{epoch}/train"]["depth"] == 1  # in fit
        for name in (f"epoch/{epoch}/validation", f"evaluation/epoch_{epoch}", f"samples/epoch_{epoch}"):
            assert cold[name]["seconds"] > 0, name
        assert cold[f"evaluation/epoch_{epoch}"]["depth"] == 2  # inside its validation
    assert {"startup/imports", "fit", "checkpoint"} <= set(cold)

    cfg.paths.output_dir = str(tmp_path / "warm")
    train(cfg)
    warm = _phases(Path(cfg.paths.output_dir))
    assert warm["data/synthetic"]["cached"] is True
    assert warm["referee/judge"]["cached"] is True and warm["referee/identity"]["cached"] is True


def test_fast_dev_run_trains_no_referee_and_no_critic(make_cfg, tmp_path):
    """fast_dev_run is a wiring check: from an empty cache, no referee, C2ST or critic is trained
    (the evaluation callback does nothing; ours runs its critic term with an untrained critic)."""
    cfg = make_cfg("experiment=ours_cpu", "+trainer.fast_dev_run=true")
    cfg.paths.cache_dir = str(tmp_path / "empty_cache")
    metrics = train(cfg)
    assert "train/G/expr" in metrics and "val/loss_rec" in metrics  # the critic term ran; validation ran
    assert not any(key.startswith("val/") and key != "val/loss_rec" for key in metrics)  # no evaluation
    cached = sorted(p.name.split("-")[0] for p in (tmp_path / "empty_cache").glob("*.pt"))
    assert cached == ["synthetic"]  # the rendered faces only: no judge, identity or critic file
    phases = _phases(Path(cfg.paths.output_dir))
    assert not any(name.startswith(("referee/", "critic", "evaluation/")) for name in phases)
