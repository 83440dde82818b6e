"""`expr-gan render out=DIR` (or `python -m expr_gan.data.synthetic`): the embedded faces as image files.

In the real datasets' layout (<person>/<expression>.png) with eyes.csv, points.csv and a contact sheet,
for a folder source (`data=folder`) or a look at what the models train on.
"""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """`expr-gan render out=DIR [num_identities=24] [size=128] [channels=3]
    [alignment=independent|shared|none] [captures=1] [seed=0] [ext=png|jpg|bmp]`: export the embedded
    faces as image files in the real datasets' layout, with eyes.csv and a contact sheet (options:
    conf/render.yaml)."""
    from expr_gan.commands.command import command_config
    from expr_gan.data.synthetic import SyntheticFaces, export

    cfg = command_config("render", argv, main.__doc__)
    if cfg is None:
        return 0
    source = SyntheticFaces(num_identities=cfg.num_identities, size=cfg.size, channels=cfg.channels,
                            alignment=cfg.alignment, captures=cfg.captures, seed=cfg.seed)
    out = export(cfg.out, source, cfg.ext)
    print(f"wrote {source.num_identities * 6 * source.captures} images and contact_sheet.png to {out}")
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
