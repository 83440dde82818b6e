"""The code's layers point one way: a module imports only from its own layer or the ones below.

Layers, lowest first (a top-level module or package of expr_gan is a unit):
  0 ground:   errors, io, timing, progress, config, runtime, legacy_config, overrides (Hydra's grammar
              applied to a stored config), which need nothing else
  1 material: data, photo, nets, imaging (image operations), referees (the judge and identity net),
              visual (grids, contact sheets)
  2 objectives and judges: losses, metrics, checkpoint
  3 training: modules, callbacks, speed
  4 commands: commands (one module each, and command.py, what they share), replication, __main__
              (expr-gan), and the first names of seven commands (train, evaluate, ...: `python -m expr_gan.train`)
A unit not listed fails the test until it is given a layer.
"""
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "expr_gan"
LAYERS = [
    {"errors", "io", "timing", "progress", "config", "runtime", "legacy_config", "overrides"},
    {"data", "photo", "nets", "imaging", "referees", "visual"},
    {"losses", "metrics", "checkpoint"},
    {"modules", "callbacks", "speed"},
    {"commands", "replication", "__main__", "train", "evaluate", "generate", "report", "replicate", "bench", "calibrate"},
]
LEVEL = {unit: i for i, units in enumerate(LAYERS) for unit in units}
IMPORT = re.compile(r"^\s*(?:from|import) expr_gan\.([a-z_]+)", re.M)


def _unit(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_every_unit_has_a_layer():
    units = {_unit(p) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert units <= set(LEVEL), sorted(units - set(LEVEL))


def test_no_import_reaches_a_higher_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        for imported in IMPORT.findall(path.read_text()):
            if imported != unit and LEVEL.get(imported, 0) > LEVEL.get(unit, 0):
                upward.append(f"{path.relative_to(PACKAGE.parent)} (layer {LEVEL[unit]}) imports "
                              f"expr_gan.{imported} (layer {LEVEL[imported]})")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    """The pattern finds imports at any indentation (the code imports inside functions)."""
    text = "def f():\n    from expr_gan.modules.base import X\nimport expr_gan.train\n"
    assert IMPORT.findall(text) == ["modules", "train"]
