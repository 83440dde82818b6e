"""The README and docs/: every relative link and image resolves, the README stays a short entry point,
and every train command they show composes with today's configs (a renamed key fails here)."""
import re
import shlex
from pathlib import Path

import pytest

from conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def _links(page: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(page.read_text()) if not m.group(1).startswith(("http:", "https:"))]


def test_the_readme_is_an_entry_point_that_links_every_docs_page():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    pages = {p.name for p in (REPO / "docs").glob("*.md")} - {"index.md"}
    linked = {Path(link).name for link in _links(REPO / "README.md") if link.startswith("docs/")}
    assert pages <= linked, sorted(pages - linked)
    index = {Path(link).name for link in _links(REPO / "docs" / "index.md")}
    assert pages <= index, sorted(pages - index)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    missing = [link for link in _links(page) if not (page.parent / link).exists()]
    assert not missing, f"{page.relative_to(REPO)}: {missing}"


def _shown_lines(page: Path, inline: str) -> list[str]:
    """The lines of the page's bash blocks and its inline code matching `inline`, each without its comment."""
    text = page.read_text()
    lines = re.findall(inline, text) + [l for block in re.findall(r"```bash\n(.*?)```", text, re.S)
                                        for l in block.splitlines()]
    return [line.split("#")[0].strip() for line in lines]


def _train_commands() -> list[tuple[str, list[str]]]:
    """(page, overrides) of every `python -m expr_gan.train ...` line the pages show, in code blocks or
    inline code, without placeholders (`<...>`, `...`, `$`) and without `-m` (a sweep composes per job)."""
    found = []
    for page in PAGES:
        for line in _shown_lines(page, r"`(python -m expr_gan\.train[^`]*)`"):
            if not line.startswith(("python -m expr_gan.train", ".venv/bin/python -m expr_gan.train")):
                continue
            if any(mark in line for mark in ("<", "...", "$", "|")):
                continue
            args = shlex.split(line)[3:]
            args = [a for a in args if a not in ("-m", "--multirun")]
            if any(a.startswith("-") for a in args):  # --help, --cfg: not overrides
                continue
            found.append((page.name, [a.split(",")[0] if "=" in a and "[" not in a and "{" not in a else a
                                      for a in args]))
    return found


def test_the_pages_show_train_commands():
    """Guards the parametrisation below: a change of format that hides every command fails here."""
    assert len(_train_commands()) >= 20


@pytest.mark.parametrize("page,overrides", _train_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_train_command_shown_composes(page, overrides):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from expr_gan.config import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        compose("train", overrides=overrides)


COMMAND = re.compile(r"^(?:\.venv/bin/)?(?:python -m expr_gan\.([a-z]+)|expr-gan ([a-z]+)|python -m expr_gan ([a-z]+))\b(.*)$")


def _other_commands() -> list[tuple[str, str, list[str]]]:
    """(page, command, its overrides) of every command other than train that the pages show, in code
    blocks or inline code, without placeholders; flags (--help, --cfg job) are left out."""
    found = []
    for page in PAGES:
        for line in _shown_lines(page, r"`((?:\.venv/bin/)?(?:python -m expr_gan|expr-gan)[^`]*)`"):
            match = COMMAND.match(line.rstrip("\\").strip())  # a continued line: its first part
            name = match and next(g for g in match.groups()[:3] if g)
            if not match or name == "train" or any(mark in line for mark in ("<", "...", "$", "|")):
                continue
            args = [a for a in shlex.split(match.group(4)) if not a.startswith("-") and a != "job"]
            found.append((page.name, name, args))
    return found


def test_the_pages_show_the_other_commands():
    assert {name for _, name, _ in _other_commands()} >= {"evaluate", "generate", "report", "replicate", "bench",
                                                           "inspect", "render"}


@pytest.mark.parametrize("page,name,overrides", _other_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_other_command_shown_composes(page, name, overrides):
    """Its own overrides compose with conf/<command>.yaml (evaluate's overrides of a checkpoint's run
    config are checked against that checkpoint when it runs)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from expr_gan.commands import COMMANDS
    from expr_gan.commands.command import split_run_overrides
    from expr_gan.config import config_dir

    assert name in COMMANDS, f"{page}: unknown command {name}"
    if not (Path(config_dir()) / f"{name}.yaml").is_file():  # photos: a folder argument, no config
        return
    own = split_run_overrides(name, overrides)[0] if name == "evaluate" else overrides
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        compose(name, overrides=own)
