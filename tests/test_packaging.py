"""The wheel ships the configs, and the package list in pyproject.toml covers every sub-package."""
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


def test_pyproject_lists_every_subpackage():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "expr_gan").rglob("__init__.py")}
    assert found | {"expr_gan.conf"} == listed


@pytest.mark.slow
def test_built_wheel_contains_configs(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("expr_gan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (REPO / "conf").rglob("*.yaml"):
        assert "expr_gan/conf/" + path.relative_to(REPO / "conf").as_posix() in names
    assert "expr_gan/commands/train.py" in names and "expr_gan/train.py" in names
