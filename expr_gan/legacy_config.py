"""Run configs written before the conditional GAN's losses became terms (expr_gan <= commit 07760b3).

Those stored one flat option per loss in `model` (`lambda_rec`, `lambda_adv`, `critic`, `d_real`,
...). `upgrade_model_config` rewrites such a model node into `targets`, `d_terms` and `g_terms` as the
old code applied them (a term at weight 0, or one the networks could not serve, was skipped), so
checkpoints made before still load for evaluate, generate and the replication's measures.
`OLD_KEYS` maps each old option to its place now, for errors that point there.
"""
from __future__ import annotations

import copy

TERMS = "expr_gan.losses"
OLD_KEYS = {
    "lambda_rec": "model.g_terms.rec.weight", "lambda_adv": "model.g_terms.adv.weight",
    "lambda_cls": "model.g_terms.cls.weight and model.d_terms.cls.weight", "lambda_cyc": "model.g_terms.cyc.weight",
    "lambda_gp": "model.d_terms.gp.weight", "lambda_mask": "model.g_terms.mask.weight",
    "lambda_tv": "model.g_terms.tv.weight", "lambda_change": "model.g_terms.change.weight",
    "lambda_mask_binary": "model.g_terms.mask_binary.weight", "lambda_fm": "model.g_terms.fm.weight",
    "lambda_mask_region": "model.g_terms.mask_region.weight", "lambda_grad": "model.g_terms.grad.weight",
    "lambda_expr": "model.g_terms.expr.weight", "critic": "model.g_terms.expr", "d_cls_on_fake": "model.d_terms.cls.on_fake",
    "rec_target": "model.targets.rec_target", "relight": "model.targets.relight", "d_real": "model.targets.d_real",
    "change_threshold": "model.targets.change_threshold", "highpass": "model.targets.highpass",
}

# the old module's defaults, for a node that did not store a key
OLD_DEFAULTS = {**{key: 0.0 for key in OLD_KEYS if key.startswith("lambda_")},
                "lambda_rec": 1.0, "lambda_adv": 1.0, "lambda_cls": 1.0, "lambda_gp": 10.0, "critic": None,
                "d_cls_on_fake": False, "rec_target": "target", "relight": False, "change_threshold": 0.08,
                "highpass": 0, "d_real": "target"}


def is_old_gan_config(model: dict) -> bool:
    """Whether a (resolved) model node is a conditional GAN's in the flat, pre-terms form."""
    return str(model.get("_target_", "")).endswith("ConditionalGANModule") and "g_terms" not in model


def _term(target: str, weight, **options) -> dict:
    return {"_target_": f"{TERMS}.{target}", "weight": float(weight), **options}


def upgrade_model_config(model: dict) -> dict:
    """The terms form of an old conditional GAN's model node (a copy; other nodes are returned as they are)."""
    if not is_old_gan_config(model):
        return model
    old = copy.deepcopy(model)
    get = lambda key: old.pop(key, OLD_DEFAULTS[key])  # noqa: E731  every old key leaves the node
    generator, discriminator = old.get("generator") or {}, old.get("discriminator") or {}
    has_mask = bool(generator.get("mask"))
    has_head = bool(discriminator.get("num_classes")) or str(discriminator.get("_target_", "")).endswith(
        "StarGANDiscriminator")
    wgan = (old.get("gan_loss") or {}).get("mode") == "wgan"
    lam = {key: get(key) for key in OLD_KEYS if key.startswith("lambda_")}
    critic, on_fake = get("critic"), get("d_cls_on_fake")
    targets = {"_target_": f"{TERMS}.edit_targets.EditTargets",
               **{key: get(key) for key in ("rec_target", "relight", "change_threshold", "highpass", "d_real")}}
    d_terms = {"adv": _term("discriminator_terms.RealVsFake", 1.0)}
    if wgan and lam["lambda_gp"] > 0:
        d_terms["gp"] = _term("discriminator_terms.GradientPenalty", lam["lambda_gp"])
    if has_head and lam["lambda_cls"] > 0:
        d_terms["cls"] = _term("discriminator_terms.ExpressionHead", lam["lambda_cls"], on_fake=bool(on_fake))
    # G's terms in the order the old code summed them
    g_terms = {"adv": _term("generator_adversarial.FoolDiscriminator", lam["lambda_adv"])}
    wanted = [("rec", "image_terms.Reconstruction", "lambda_rec", True, {"loss": old.get("loss")}),
              ("grad", "image_terms.GradientDifference", "lambda_grad", True, {}),
              ("cls", "generator_adversarial.ExpressionHeadOnFake", "lambda_cls", has_head, {}),
              ("expr", "expression.ExpressionCritic", "lambda_expr", critic is not None,
               {k: v for k, v in (critic or {}).items() if k != "_target_"}),
              ("change", "image_terms.ChangedRegionL1", "lambda_change", True, {}),
              ("cyc", "image_terms.Cycle", "lambda_cyc", True, {}),
              ("mask", "mask_terms.MaskSparsity", "lambda_mask", has_mask, {}),
              ("mask_binary", "mask_terms.BinaryMask", "lambda_mask_binary", has_mask, {}),
              ("mask_region", "mask_terms.MaskOnChange", "lambda_mask_region", has_mask, {}),
              ("tv", "mask_terms.MaskSmoothness", "lambda_tv", has_mask, {}),
              ("fm", "generator_adversarial.FeatureMatching", "lambda_fm", True, {})]
    for name, target, weight, servable, options in wanted:
        if servable and lam[weight] > 0:
            g_terms[name] = _term(target, lam[weight], **options)
    return {**old, "targets": targets, "d_terms": d_terms, "g_terms": g_terms}


def upgrade_run_config(config: dict) -> dict:
    """A whole stored run config with its model node upgraded (unchanged when it is current)."""
    if isinstance(config, dict) and isinstance(config.get("model"), dict) and is_old_gan_config(config["model"]):
        return {**config, "model": upgrade_model_config(config["model"])}
    return config


def old_option_error(args: list[str]) -> str | None:
    """A message pointing to the new place of the first pre-terms GAN option among command-line
    overrides (`model.lambda_adv=8`), or None."""
    for arg in args:
        key = arg.lstrip("+~").split("=", 1)[0]
        if key.startswith("model.") and key[len("model."):] in OLD_KEYS:
            return (f"{arg}: the conditional GAN's losses are terms now; {key} is {OLD_KEYS[key[len('model.'):]]} "
                    "(docs/extending.md; a term not in the experiment is added with "
                    "+g_term@model.g_terms.<name>=<conf/g_term file>)")
    return None
