"""The benchmark harness produces a record per case with both loops timed, and the startup time."""
import json
import statistics

from conftest import REPO, run_cli


def test_bench_writes_records(tmp_path, cache_dir):
    result = run_cli("expr_gan.bench", "cases=[generation,dcgan]", "steps=6", "chunk=2", "warmup=1", "size=32",
                     "batch=8", "width=8", f"out={tmp_path}", cwd=REPO, env={"EXPR_GAN_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "bench.json").read_text())
    assert [r["case"] for r in data["records"]] == ["generation", "dcgan"]
    for r in data["records"]:
        assert r["ours_img_s"] > 0 and r["plain_img_s"] > 0 and r["chunks"] == 3 == len(r["chunk_ratios"])
        assert r["ratio"] == statistics.median(r["chunk_ratios"]) and r["ratio_spread"][0] <= r["ratio"] <= r["ratio_spread"][1]
        assert 0 <= r["data_wait_share"] < 1 and r["device"] == "cpu" and r["precision"] == "32-true"
    assert 0 < data["help_seconds"] < 30
    assert "| generation |" in result.stdout and "--help" in result.stdout
    bad = run_cli("expr_gan.bench", "cases=nope", cwd=REPO)
    assert bad.returncode == 2 and "unknown ['nope']" in bad.stderr
    assert (tmp_path / "command.yaml").is_file()  # the composed config lands in the run dir


def test_every_family_has_a_plain_reference_and_others_get_a_clear_error():
    import pytest

    from expr_gan.bench import CASES, plain_step, plain_steps
    from expr_gan.modules.base import ExpressionEditModule

    families = {cls.__name__ for cls in plain_steps()}
    assert families == {"GenerationModule", "RefinementModule", "JointModule", "ConditionalGANModule"}
    assert len(CASES) == 7

    class NewFamily(ExpressionEditModule):
        pass

    with pytest.raises(ValueError, match="NewFamily has no plain reference step; add one to plain_steps"):
        plain_step(NewFamily(), {}, [])
