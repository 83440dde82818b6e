"""The GAN family as terms trains exactly as the code before it did (fingerprints in tests/data, made by
the pre-refactor code: tests/bit_identity.py), and logs each term's raw value beside the weighted total."""
import json

import pytest

import bit_identity
from bit_identity import CASES, RECORD, cpu_model, fingerprints, recorded_for_this_cpu

RECORDED = json.loads(RECORD.read_text())
FOR_THIS_CPU = recorded_for_this_cpu(RECORDED)


def assert_same_run(name: str, new: dict, old: dict) -> None:
    """Every tensor of the final state, the last grid and val/loss_rec: the same bits."""
    assert new["batches"] == old["batches"]
    assert sorted(new["sha256"]) == sorted(old["sha256"]), f"{name}: the checkpoint's tensors are not the same set"
    moved = [k for k in old["sha256"] if new["sha256"][k] != old["sha256"][k]]
    assert not moved, f"{name}: {len(moved)} of {len(old['sha256'])} tensors moved, e.g. {moved[:3]}"
    assert new["grid"] == old["grid"], f"{name}: the last sample grid changed"
    assert new["logged"]["val/loss_rec"] == old["logged"]["val/loss_rec"]


def assert_raw_terms_logged(new: dict, old: dict, weights: dict) -> None:
    """The old code logged `train/G/loss_<name>` = weight x term; the new logs the term itself and the total."""
    for phase in ("G", "D"):
        total = 0.0
        for key, value in old["logged"].items():
            if not key.startswith(f"train/{phase}/loss_"):
                continue
            name = key.split("loss_")[1]
            if phase == "D" and name in ("real", "fake"):  # D's adversarial term has two parts
                assert new["logged"][f"train/D/adv_{name}"] == pytest.approx(value, rel=1e-5, abs=1e-7)
                total += value
                continue
            weight = weights[phase][name]
            assert new["logged"][f"train/{phase}/{name}"] * weight == pytest.approx(value, rel=1e-5, abs=1e-7), key
            total += value
        assert new["logged"][f"train/{phase}/total"] == pytest.approx(total, rel=1e-5, abs=1e-6)


def weights_of(name: str) -> dict:
    """{phase: {term: weight}} of case `name` as composed."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from expr_gan.config import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[*bit_identity.COMMON, *CASES[name]])
    return {phase: {k: float(v.weight) for k, v in cfg.model[f"{phase.lower()}_terms"].items() if v is not None}
            for phase in ("G", "D")}


FAST = ["ours_cpu", "stargan_cpu", "pix2pix_cpu", "ganimation_cpu", "paper_dcgan"]  # the five


def check_cases(names: list[str], tmp_path) -> None:
    made = fingerprints(names, tmp_path, tmp_path / "cache")
    if made["machine"] != FOR_THIS_CPU["machine"]:  # another torch build, or a CPU without AVX2: other kernels
        pytest.skip(f"the record's kernels ({FOR_THIS_CPU['machine']}) are not this machine's ({made['machine']}); "
                    f"re-record with the old code on this CPU ({cpu_model()}; tests/bit_identity.py)")
    for name in names:
        assert_same_run(name, made["cases"][name], FOR_THIS_CPU["cases"][name])
        assert_raw_terms_logged(made["cases"][name], FOR_THIS_CPU["cases"][name], weights_of(name))


def test_the_default_run_and_the_presets_train_bit_identically(tmp_path):
    check_cases(FAST, tmp_path)


@pytest.mark.slow
def test_every_term_and_option_trains_bit_identically(tmp_path):
    check_cases([n for n in CASES if n not in FAST], tmp_path)


def test_a_moved_weight_is_caught():
    """The comparison can fail: one flipped bit in one tensor's digest, or a changed logged value."""
    old = RECORDED["cases"]["paper_dcgan"]
    moved = json.loads(json.dumps(old))
    key = sorted(moved["sha256"])[0]
    moved["sha256"][key] = moved["sha256"][key][:-1] + ("0" if moved["sha256"][key][-1] != "0" else "1")
    with pytest.raises(AssertionError, match="tensors moved"):
        assert_same_run("paper_dcgan", moved, old)
    relogged = json.loads(json.dumps(old))
    relogged["logged"] = {**old["logged"], "train/G/rec": old["logged"]["train/G/loss_rec"],
                          "train/G/adv": old["logged"]["train/G/loss_adv"],
                          "train/D/adv_real": old["logged"]["train/D/loss_real"],
                          "train/D/adv_fake": old["logged"]["train/D/loss_fake"], "train/D/total": 0.0, "train/G/total": 0.0}
    with pytest.raises(AssertionError):  # the total is missing (0): caught
        assert_raw_terms_logged(relogged, old, weights_of("paper_dcgan"))


def test_the_record_covers_every_case_and_every_term():
    assert set(RECORDED["cases"]) == set(CASES)
    assert all(set(record["cases"]) == set(CASES) for record in RECORDED.get("by_cpu", {}).values())
    logged = {k.split("/")[-1] for case in RECORDED["cases"].values() for k in case["logged"] if k.startswith("train/")}
    assert logged >= {"loss_" + t for t in ("rec", "adv", "cls", "cyc", "expr", "change", "grad", "fm", "mask",
                                            "mask_binary", "mask_region", "tv", "real", "fake", "gp")}
