"""`expr-gan inspect data=caspeal data.root=PATH [format=json]`: what a dataset holds.

Prints identities, images per expression, identities per number of expressions, usable pairs under
the configured pair policy (and people excluded for lacking what it needs), where each file's eyes
came from (the dataset's files, landmarks: a face found, or none), duplicates, and every skipped file
with its reason (a file in which landmarks find no face among them); format=json lists every file's; writes contact_sheet.png of a few identities x expressions to `out`
(the run directory; default outputs/inspect/<time>). The data groups and keys are train's
(`data=kdef`, `data.size=128`); options: conf/inspect.yaml.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from expr_gan.errors import UsageError



def summarise(dm) -> dict:
    """The inspection report of a (not yet set up) datamodule as a plain dict."""
    from expr_gan.data.pairs import make_pairs

    faces = dm.source.load(dm.cache_dir)
    names = list(faces.expression_names)
    per_expr = Counter(names[int(e)] for e in faces.expression)
    per_person = Counter(int(i) for i in faces.identity)
    by_count = Counter(per_person.values())
    neutral = names.index("neutral") if "neutral" in names else 0
    pairs = make_pairs(faces.identity, faces.expression, dm.pair_policy, neutral)
    with_pairs = set(faces.identity[pairs[:, 0]].tolist()) if len(pairs) else set()
    skipped = list(faces.meta.get("skipped", []))
    eyes_from = list(faces.meta.get("eyes_from", []))  # per decoded file: file, landmarks or none
    return {"identities": len(per_person), "images": len(faces),
            "eyes": {"from_file": eyes_from.count("file"), "from_landmarks": eyes_from.count("landmarks"),
                     "none": eyes_from.count("none"),
                     "no_face_found": sum(1 for s in skipped if s["reason"] == "no face found by landmarks")},
            "eyes_per_file": dict(zip(faces.meta.get("files", []), eyes_from)),
            "images_per_expression": {n: per_expr.get(n, 0) for n in names},
            "identities_per_expression_count": {str(k): by_count[k] for k in sorted(by_count)},
            "pair_policy": dm.pair_policy, "pairs": len(pairs),
            "identities_without_pairs": len(per_person) - len(with_pairs),
            "duplicates": sum(1 for s in skipped if s["reason"].startswith("duplicate")),
            "skipped": skipped, "faces": faces}


def main(argv: list[str]) -> int:
    """Compose the data config, summarise, print and write the contact sheet."""
    from hydra.utils import instantiate

    from expr_gan.commands.command import command_config, save_command_config
    from expr_gan.visual import contact_sheet, save_png

    cfg = command_config("inspect", argv, __doc__)
    if cfg is None:
        return 0
    if cfg.format not in ("text", "json"):
        raise UsageError(f"format={cfg.format!r}: expected text or json")
    dm = instantiate(cfg.data, pixels=instantiate(cfg.pixels))
    report = summarise(dm)
    faces = report.pop("faces")
    out = Path(cfg.out)
    save_command_config(out, "inspect", cfg)
    sheet = save_png(contact_sheet(faces, max_identities=6), out / "contact_sheet.png")
    report["contact_sheet"] = str(sheet)
    if cfg.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"identities: {report['identities']}   images: {report['images']}")
    print("images per expression: " + ", ".join(f"{k} {v}" for k, v in report["images_per_expression"].items()))
    print("identities per number of expressions: " + ", ".join(f"{k}: {v}" for k, v in report["identities_per_expression_count"].items()))
    print(f"usable pairs ({report['pair_policy']}): {report['pairs']}; identities without a pair: {report['identities_without_pairs']}")
    eyes = report["eyes"]
    print(f"eyes: from the dataset's files {eyes['from_file']}, from landmarks (face found) {eyes['from_landmarks']}, "
          f"none (centre crop) {eyes['none']}; no face found: {eyes['no_face_found']} (skipped)")
    print(f"duplicates: {report['duplicates']}   skipped files: {len(report['skipped'])}")
    for s in report["skipped"]:
        print(f"  skipped {s['file']}: {s['reason']}")
    print(f"contact sheet: {sheet}")
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
