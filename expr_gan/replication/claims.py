"""The report's claims: its words and numbers, the test that decides each (metric and threshold, fixed
here before any run and never tuned to an outcome), and the verdict from the measured values.

`decide(results)` gets, per job name, {"eval": expr_gan.evaluate's metrics on held-out people,
"train": the run's metrics.json, "extra": measures.py's values, "baselines": copy / oracle / aligned}
and returns (measured, verdict, why) with verdict one of reproduced / partly / not reproduced.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

REPRODUCED, PARTLY, NOT_REPRODUCED = "reproduced", "partly", "not reproduced"


@dataclass(frozen=True)
class Claim:
    """One row of the replication table."""

    id: str
    where: str
    report: str
    setting: str
    test: str
    jobs: tuple[str, ...]
    decide: Callable[[dict], tuple[str, str, str]]
    curves: tuple[str, ...] = ()  # scalars drawn in the claim's figure (training claims)


def _verdict(parts: list[bool], core: int = 0) -> str:
    """reproduced: every part holds; not reproduced: none holds, or one of the first `core` parts (the
    claim's substance, without which the rest says nothing) fails; partly otherwise."""
    if all(parts):
        return REPRODUCED
    return NOT_REPRODUCED if not any(parts) or not all(parts[:core]) else PARTLY


def is_noise(l1: float, mean_face_l1: float) -> bool:
    """Claim 1's "noise": held-out L1 no better than that of the best constant image (the mean face)."""
    return l1 >= mean_face_l1


def learns(l1: float, mean_face_l1: float) -> bool:
    """Claim 1's "learns": held-out L1 at most 0.9 of the mean face's."""
    return l1 <= 0.9 * mean_face_l1


def _noise(r: dict) -> tuple[str, str, str]:
    ratio = {j: r[j]["eval"]["l1"] / r[j]["extra"]["mean_face_l1"] for j in SGD_JOBS}
    noise = is_noise(r[SGD_JOBS[0]]["eval"]["l1"], r[SGD_JOBS[0]]["extra"]["mean_face_l1"])
    learns_ = [learns(r[j]["eval"]["l1"], r[j]["extra"]["mean_face_l1"]) for j in SGD_JOBS[1:]]
    measured = "; ".join(f"{j.replace('sgd_minimal_unit', 'sgd+minimal+[0,1]').replace('__', ' then ')} "
                         f"{ratio[j]:.2f}" for j in SGD_JOBS)
    why = (("the failing setting is no better than a constant image" if noise else
            "the failing setting learns too") + f"; {sum(learns_)} of 3 single changes learn")
    return f"L1 / constant-image L1: {measured}", _verdict([noise, *learns_], core=1), why


def _converges(r: dict) -> tuple[str, str, str]:
    parts, texts = [], []
    for job, reported in (("two_step_mse", 800.0), ("two_step_smoothl1_base", 20.0)):
        stage2 = r[job]["extra"]["stage2"]
        early = stage2["settled_at_epochs"] < 1.0
        near = reported / 2 <= stage2["final"] <= reported * 2
        parts += [early, near]
        texts.append(f"{job}: settles after {stage2['settled_at_epochs']:.2f} epochs at {stage2['final']:.1f} "
                     f"(report ~{reported:.0f})")
    parts = [parts[0], parts[2], parts[1], parts[3]]  # convergence first: it is the claim's substance
    why = ("both converge within the first epoch" if parts[0] and parts[1] else "convergence is slower than reported")
    why += "; magnitudes " + ("match" if parts[2] and parts[3] else "differ")
    return "; ".join(texts), _verdict(parts, core=2), why


def _blurry(r: dict) -> tuple[str, str, str]:
    e, x = r["two_step_mse"]["eval"], r["two_step_mse"]["extra"]
    parts = [e["sharpness"] < 0.5, x["pose_bias"] >= 0.6, x["refine_change"] < 0.25]
    measured = (f"sharpness {e['sharpness']:.2f}; closer to the source's pose in {x['pose_bias']:.0%} of "
                f"{x['pose_pairs']} pairs; refinement changes {x['refine_change']:.2f} of an expression change")
    names = ["blurry", "posed like the input", "refinement barely changes stage 1"]
    why = ", ".join(n for n, ok in zip(names, parts) if ok) or "none of the three"
    return measured, _verdict(parts), f"holds: {why}"


def _sharper(r: dict) -> tuple[str, str, str]:
    s = {j: r[j]["eval"]["sharpness"] for j in TWO_STEP_JOBS}
    loss_gain = [s["two_step_smoothl1_base"] - s["two_step_mse"], s["two_step_smoothl1"] - s["two_step_mse_refined"]]
    arch_gain = [s["two_step_mse_refined"] - s["two_step_mse"], s["two_step_smoothl1"] - s["two_step_smoothl1_base"]]
    loss_effect, arch_effect = sum(loss_gain) / 2, sum(arch_gain) / 2
    parts = [all(g > 0 for g in loss_gain), abs(arch_effect) < abs(loss_effect)]
    measured = (f"sharpness MSE/SmoothL1: base {s['two_step_mse']:.3f}/{s['two_step_smoothl1_base']:.3f}, "
                f"refined {s['two_step_mse_refined']:.3f}/{s['two_step_smoothl1']:.3f}; loss effect "
                f"{loss_effect:+.3f}, layers effect {arch_effect:+.3f}")
    why = ("SmoothL1 is sharper with both layer sets" if parts[0] else "SmoothL1 is not sharper with both layer sets")
    why += "; the loss matters more than the layers" if parts[1] else "; the layers matter more than the loss"
    return measured, _verdict(parts), why


def _joint(r: dict) -> tuple[str, str, str]:
    acc = {j: (r[j]["train"]["train/cls_acc"], r[j]["train"]["test/cls_acc"]) for j in JOINT_JOBS}
    (s_tr, s_te), (m_tr, m_te), (e_tr, _) = acc["joint_smoothl1"], acc["joint_mse"], acc["joint_end_to_end"]
    order = s_tr > m_tr and s_te > m_te
    near = all(abs(a - b) <= 0.15 for a, b in ((s_tr, .5897), (s_te, .48), (m_tr, .40), (m_te, .20), (e_tr, .95)))
    terrible = r["joint_end_to_end"]["eval"]["l1"] >= 1.2 * r["joint_smoothl1"]["eval"]["l1"]
    measured = (f"SmoothL1 {s_tr:.1%} / {s_te:.1%}, MSE {m_tr:.1%} / {m_te:.1%}, end to end {e_tr:.1%} train; "
                f"end-to-end image L1 {r['joint_end_to_end']['eval']['l1']:.3f} vs two-step "
                f"{r['joint_smoothl1']['eval']['l1']:.3f} (chance 16.7%)")
    why = (("SmoothL1 beats MSE" if order else "SmoothL1 does not beat MSE on both splits")
           + ("; the numbers are within 15 points" if near else "; the numbers differ by more than 15 points")
           + ("; end to end: worse images" if terrible else "; end to end: images not worse"))
    return measured, _verdict([order, near, e_tr >= 0.9 and terrible]), why


def _collapse_parts(e: dict, oracle: dict) -> dict:
    return {"one-hot ignored": e["cond_sensitivity"] <= 0.1 * oracle["cond_sensitivity"],
            "copies the input": e["copy_ratio"] <= 0.3, "keeps the source's expression": e["source_expr_acc"] >= 0.5,
            "keeps the person": e["id_acc"] >= 0.9, "sharp": e["sharpness"] >= 0.7}


def _identity(r: dict) -> tuple[str, str, str]:
    e = r["dcgan"]["eval"]
    parts = _collapse_parts(e, r["dcgan"]["baselines"]["oracle"])  # the first three: the identity function
    measured = (f"cond_sensitivity {e['cond_sensitivity']:.4f} (real expressions "
                f"{r['dcgan']['baselines']['oracle']['cond_sensitivity']:.4f}), copy_ratio {e['copy_ratio']:.2f}, "
                f"judged as the source's expression {e['source_expr_acc']:.0%}, id_acc {e['id_acc']:.2f}, "
                f"sharpness {e['sharpness']:.2f}, expr_acc {e['expr_acc']:.2f}")
    held = [k for k, ok in parts.items() if ok]
    failed = [k for k, ok in parts.items() if not ok]
    why = "all hold" if not failed else "; ".join(filter(None, [", ".join(held) and "holds: " + ", ".join(held),
                                                                  "does not hold: " + ", ".join(failed)]))
    return measured, _verdict(list(parts.values()), core=3), why


def _no_rescue(r: dict) -> tuple[str, str, str]:
    e, base = r["dcgan_cls"]["eval"], r["dcgan"]["eval"]
    rescued = e["expr_acc"] >= 0.5 and e["id_acc"] >= 0.9
    measured = (f"with D's expression head: expr_acc {e['expr_acc']:.2f}, copy_ratio {e['copy_ratio']:.2f}, "
                f"id_acc {e['id_acc']:.2f} (without: {base['expr_acc']:.2f}, {base['copy_ratio']:.2f}, {base['id_acc']:.2f})")
    return measured, NOT_REPRODUCED if rescued else REPRODUCED, (
        "the head makes it change expressions and keep the person" if rescued else "no edit that keeps the person")


def _iterations(r: dict) -> tuple[str, str, str]:
    e = {n: r[f"dcgan_iters{n}"]["eval"] for n in (1, 2, 8, 16)}

    def moved(n):
        return e[n]["copy_ratio"] >= e[1]["copy_ratio"] + 0.1 or e[n]["expr_acc"] >= e[1]["expr_acc"] + 0.1

    degraded = e[16]["c2st_acc"] >= e[1]["c2st_acc"] + 0.02 or e[16]["sharpness"] <= e[1]["sharpness"] - 0.1
    parts = [moved(8), moved(16), not moved(2), degraded]
    measured = "; ".join(f"{n}: expr_acc {e[n]['expr_acc']:.2f} copy_ratio {e[n]['copy_ratio']:.2f} "
                         f"c2st {e[n]['c2st_acc']:.2f} sharpness {e[n]['sharpness']:.2f}" for n in e)
    names = ["8 moves toward the target", "16 moves", "2 does not", "16 looks worse"]
    return measured, _verdict(parts), "holds: " + (", ".join(n for n, ok in zip(names, parts) if ok) or "none")


def _standardised(r: dict) -> tuple[str, str, str]:
    a, b = r["dcgan"]["eval"], r["dcgan_standard"]["eval"]
    ratio = b["l1"] / a["l1"]
    verdict = REPRODUCED if ratio >= 1.25 else (NOT_REPRODUCED if ratio <= 1.05 else PARTLY)
    measured = (f"held-out L1 {b['l1']:.3f} standardised vs {a['l1']:.3f} in [-1, 1] (x{ratio:.2f}); "
                f"c2st {b['c2st_acc']:.2f} vs {a['c2st_acc']:.2f}")
    return measured, verdict, f"standardised pixels end {ratio:.2f} times as far from the targets"


def _photo(r: dict) -> tuple[str, str, str]:
    x = r["dcgan"]["extra"]["photo"]
    ignores, copies = x["spread_between_targets"] <= 0.01, x["moved_from_input"] <= 0.05
    measured = (f"mean |output - input| {x['moved_from_input']:.3f}, between targets {x['spread_between_targets']:.4f} "
                f"(face crop: {x['crop']})")
    why = ("the target is ignored" if ignores else "the outputs differ by target") + (
        " and the input comes back" if copies else " but the input does not come back")
    return measured, _verdict([ignores, copies]), why


SGD_JOBS = ("sgd_minimal_unit", "sgd_minimal_unit__adam", "sgd_minimal_unit__norm_all", "sgd_minimal_unit__byte")
TWO_STEP_JOBS = ("two_step_mse", "two_step_smoothl1_base", "two_step_mse_refined", "two_step_smoothl1")
JOINT_JOBS = ("joint_smoothl1", "joint_mse", "joint_end_to_end")

CLAIMS = [
    Claim("1", "2.3.2, Figs 2-4", "SGD + minimal batch norm + [0,1] pixels outputs random noise; changing any one "
          "(Adam, more batch norm, [0,255]) learns", "two-step, 32 px, MSE; the failing setting and each single change",
          "noise: held-out L1 >= that of the best constant image (the mean face); learns: <= 0.9 of it", SGD_JOBS, _noise),
    Claim("2", "2.3.3, Fig 7", "the loss converges well before the end of the first epoch; MSE settles near 800, "
          "SmoothL1 near 20 ([0,255] pixels)", "two-step base layers, [0,255], MSE and SmoothL1",
          "the refinement step's training loss stays within 10% of its final level from < 1 epoch into the stage; "
          "final level within 2x of the report's", ("two_step_mse", "two_step_smoothl1_base"), _converges,
          curves=("train/G/loss_stage1", "train/G/loss_rec")),
    Claim("3", "2.3.3, Figs 5-6, 8", "outputs are blurry and posed like the input; the refinement step barely "
          "changes stage 1's image", "two-step base layers, MSE, [0,255]",
          "sharpness < 0.5; closer to the target warped into the source's pose than to the target in >= 60% of "
          "pairs; |stage 2 - stage 1| < 0.25 of |target - source|", ("two_step_mse",), _blurry),
    Claim("4", "2.3.4, Fig 10", "SmoothL1 is slightly sharper than MSE; the DCGAN-style layer refinements bring "
          "no gain", "2x2: {MSE, SmoothL1} x {base layers, refinements}",
          "SmoothL1 sharper with both layer sets, and |layers effect| < |loss effect| on sharpness", TWO_STEP_JOBS, _sharper),
    Claim("5", "2.3.5", "joint classifier: SmoothL1 58.97% train / 48% test, MSE 40% / 20%, end to end 95% train "
          "with terrible images", "joint two-step + the report's head, random 50-50 pair split",
          "SmoothL1 > MSE on both splits; every number within 15 points; end to end >= 90% train with held-out "
          "image L1 >= 1.2x the two-step's", JOINT_JOBS, _joint),
    Claim("6", "3, Figs 11-13", "the conditional DCGAN without noise is sharp but learns the identity function",
          "the report's cGAN (G: generation net + FC, D: dcgan.torch), SmoothL1 + BCE",
          "cond_sensitivity <= 0.1x real expressions'; copy_ratio <= 0.3; judged as the source's expression >= 50%; "
          "id_acc >= 0.9; sharpness >= 0.7", ("dcgan",), _identity,
          curves=("val/cond_sensitivity", "val/copy_ratio", "val/expr_acc", "val/source_expr_acc")),
    Claim("7", "3.1.2", "D's expression head does not rescue it", "the cGAN with D classifying every image",
          "rescued if expr_acc >= 0.5 with id_acc >= 0.9", ("dcgan", "dcgan_cls"), _no_rescue),
    Claim("8", "3.3", "8-16 optimisation iterations per batch move outputs toward the target but make them "
          "grotesque; 2 are not enough", "the cGAN with 1, 2, 8, 16 iterations on each of the same batches",
          "moves: copy_ratio or expr_acc >= 1 iteration's + 0.1; worse: c2st_acc +0.02 or sharpness -0.1 at 16",
          ("dcgan_iters1", "dcgan_iters2", "dcgan_iters8", "dcgan_iters16"), _iterations),
    Claim("9", "3.4", "standardised pixels with batch norm at every layer reach a much worse optimum",
          "the cGAN with pixels=standard", "held-out L1 >= 1.25x the [-1,1] run's (<= 1.05x: not reproduced)",
          ("dcgan", "dcgan_standard"), _standardised),
    Claim("10", "Fig 12", "a face from outside the data comes back unchanged whatever the target",
          "the cGAN on a real photograph (matplotlib's Grace Hopper portrait)",
          "outputs within 0.01 of each other and within 0.05 of the input (mean |difference|)", ("dcgan",), _photo),
]
