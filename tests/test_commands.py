"""One way in: every command composes conf/<command>.yaml with Hydra's grammar and struct mode."""
from __future__ import annotations

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from conftest import REPO, run_cli
from expr_gan.commands.command import compose_command_keys
from expr_gan.overrides import apply_overrides
from expr_gan.commands.command import run
from expr_gan.config import config_dir

COMMANDS = {  # module -> the arguments it needs to get as far as reading its options
    "expr_gan.commands.evaluate": ["ckpt={ckpt}", "max_pairs=4"],
    "expr_gan.commands.generate": ["ckpt={ckpt}", "input={tmp}/missing.png"],
    "expr_gan.commands.report": ["dir={tmp}"],
    "expr_gan.commands.replicate": ["budget=tiny", "claims=6"],
    "expr_gan.commands.inspect": ["data.num_identities=4", "data.size=32"],
    "expr_gan.commands.render": ["out={tmp}/faces", "num_identities=2", "size=32"],
    "expr_gan.commands.bench": ["cases=[dcgan]", "steps=2"],
    "expr_gan.commands.calibrate": ["photos={tmp}/none"],
}
TYPOS = {  # a dotted key each command's config (or the checkpoint's run config) lacks
    "expr_gan.commands.evaluate": "data.num_identitis=3", "expr_gan.commands.generate": "detector.kind=haar",
    "expr_gan.commands.report": "sort.by=l1", "expr_gan.commands.replicate": "budget.name=cpu",
    "expr_gan.commands.inspect": "data.sise=32", "expr_gan.commands.render": "size.px=32",
    "expr_gan.commands.bench": "cases.first=dcgan", "expr_gan.commands.calibrate": "every.n=3",
}


@pytest.fixture
def tiny_ckpt(generation_ckpt):
    return generation_ckpt


def _main(module: str):
    import importlib
    from pathlib import Path

    return importlib.import_module(module).main


def _args(module: str, ckpt, tmp) -> list[str]:
    return [a.format(ckpt=ckpt, tmp=tmp) for a in COMMANDS[module]]


def _train_config(overrides: list[str]):
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose("train", overrides=overrides)


@pytest.mark.parametrize("overrides", [
    ["data.size=48"], ["+data.extra=1"], ["~data.flip"], ["++seed=3", "++data.brand_new=2"],
    ["data.split_fractions=[0.5,0.3,0.2]", "c2st={steps: 7}"], ["~referee"],
])
def test_overrides_of_a_stored_run_config_act_as_hydra_composes_them(overrides):
    """evaluate applies its run-config overrides to the checkpoint's stored config: the result must be
    what Hydra composes for `train` with the same overrides."""
    composed = OmegaConf.to_container(_train_config(overrides))
    applied = OmegaConf.to_container(apply_overrides(_train_config([]), overrides))
    assert applied == composed


@pytest.mark.parametrize("overrides, message", [
    (["data.sise=3"], "no key 'data.sise'"), (["+data.size=3"], "already has 'data.size'"),
    (["~data.nothing"], "no key 'data.nothing' to delete"), (["data=caspeal"], "cannot be swapped"),
    (["data.size=32,48"], "a sweep"),
])
def test_overrides_hydra_rejects_are_rejected_with_the_key(overrides, message):
    from hydra.errors import HydraException

    with pytest.raises(HydraException):
        _train_config([o for o in overrides if o != "data=caspeal"] or ["data=nonexistent_source"])
    with pytest.raises(ValueError, match=message):
        apply_overrides(_train_config([]), overrides)


@pytest.mark.parametrize("module", sorted(TYPOS))
def test_every_command_names_a_typo_in_a_dotted_key(module, tiny_ckpt, tmp_path, capsys):
    assert run(_main(module), [*_args(module, tiny_ckpt, tmp_path), TYPOS[module]]) == 2
    err = capsys.readouterr().err
    assert TYPOS[module].split("=")[0].split(".")[-1] in err and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "faces").exists()  # refused before anything was written


def test_every_command_has_help_and_cfg_job(tmp_path):
    """--help shows the documentation and the config; --cfg job the composed config with the overrides."""
    for module in COMMANDS:
        name = module.rsplit(".", 1)[-1]
        key = compose_command_keys(name)[-1]
        result = run_cli(module, "--help", cwd=REPO)
        assert result.returncode == 0 and f"== Config (conf/{name}.yaml" in result.stdout and f"{key}:" in result.stdout
        result = run_cli(module, "--cfg", "job", f"out={tmp_path}/x", cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert yaml.safe_load(result.stdout)["out"] == f"{tmp_path}/x"
        assert not (tmp_path / "x").exists()  # showing the config writes nothing
    result = run_cli("expr_gan.report", "--verbose", cwd=REPO)
    assert result.returncode == 2 and "unknown flag --verbose" in result.stderr


def test_a_command_records_its_config_in_its_run_dir(tmp_path, capsys):
    from expr_gan.commands.inspect import main

    assert run(main, ["data.num_identities=4", "data.size=32", f"out={tmp_path}/i", "format=json"]) == 0
    record = yaml.safe_load((tmp_path / "i" / "command.yaml").read_text())
    assert record["command"] == "expr-gan inspect"
    assert record["config"]["data"]["num_identities"] == 4 and record["config"]["out"] == f"{tmp_path}/i"
    assert (tmp_path / "i" / "contact_sheet.png").is_file()


def test_evaluate_applies_run_overrides_to_the_checkpoint_config(tiny_ckpt, tmp_path, capsys):
    from expr_gan.checkpoint import load_run
    from expr_gan.commands.evaluate import main

    module, dm, cfg = load_run(tiny_ckpt, ["data.num_identities=20", "c2st.seed=5"])
    assert cfg.data.num_identities == 20 and cfg.c2st.seed == 5 and dm.faces.identity.max() == 19
    assert not module.training  # ready to evaluate
    out = tmp_path / "ev"
    assert run(main, [f"ckpt={tiny_ckpt}", "max_pairs=4", "c2st.steps=5", f"out={out}", "+data.flip=true"]) == 2
    assert "already has 'data.flip'" in capsys.readouterr().err and not out.exists()
    assert run(main, [f"ckpt={tiny_ckpt}", "max_pairs=4", "c2st.steps=5", f"out={out}"]) == 0
    record = yaml.safe_load((out / "command.yaml").read_text())
    assert record["run_overrides"] == ["c2st.steps=5"] and record["config"]["max_pairs"] == 4
    assert (out / "metrics.json").is_file()


def test_list_options_take_one_item_or_a_list(monkeypatch, tmp_path):
    import pytest

    from expr_gan.commands import replicate

    class Parsed(Exception):
        """Raised by the stub where the jobs would start: the claims were parsed, nothing else is needed."""

    seen = []

    def job_names(claims):
        seen.append([c.id for c in claims])
        raise Parsed

    monkeypatch.setattr(replicate, "job_names", job_names)
    for claims in ("claims=6", "claims=[1,6]"):
        with pytest.raises(Parsed):  # any other error (a parsing bug) fails the test
            replicate.main(["budget=tiny", claims, f"out={tmp_path}/r"])
    assert seen == [["6"], ["1", "6"]]


def test_one_name_runs_every_command_as_its_module_does(tmp_path):
    """`python -m expr_gan <command>` (the `expr-gan` console script) lists the commands, refuses an
    unknown one, and runs a command with its own arguments, output and exit code."""
    from expr_gan.__main__ import COMMANDS

    listing = run_cli("expr_gan", cwd=REPO)
    assert listing.returncode == 2 and all(name in listing.stdout for name in COMMANDS)
    unknown = run_cli("expr_gan", "trian", cwd=REPO)
    assert unknown.returncode == 2 and "unknown command 'trian'" in unknown.stderr
    job = run_cli("expr_gan", "train", "--cfg", "job", "model=dcgan", cwd=REPO)
    assert job.returncode == 0 and "expr_gan.modules.conditional_gan.ConditionalGANModule" in job.stdout
    same = [run_cli(*prefix, f"dir={tmp_path / 'missing'}", cwd=REPO) for prefix in (("expr_gan", "report"),
                                                                                       ("expr_gan.report",))]
    assert [r.returncode for r in same] == [2, 2] and same[0].stderr == same[1].stderr
    import importlib
    from pathlib import Path
    for module, _ in COMMANDS.values():  # every command's module exists and runs as a script
        assert 'if __name__ == "__main__"' in Path(importlib.util.find_spec(module).origin).read_text()


def test_a_user_error_is_one_line_and_a_bug_keeps_its_traceback(capsys):
    """Only expr_gan.errors.UserError (and Hydra's config errors) is the user's to fix; a ValueError from
    a bug is re-raised with its traceback."""
    from expr_gan.errors import CheckpointError, DataError, DivergenceError, MissingFileError, UsageError

    def failing(err):
        def main(argv):
            raise err
        return main

    for err in (UsageError("bad option"), DataError("bad data"), MissingFileError("no file"),
                CheckpointError("bad checkpoint"), DivergenceError("diverged")):
        assert run(failing(err), []) == 2
        assert capsys.readouterr().err == f"error: {err}\n"
    for bug in (ValueError("a bug"), FileNotFoundError("a bug's path"), KeyError("a bug's key")):
        with pytest.raises(type(bug)):
            run(failing(bug), [])
    assert isinstance(UsageError("x"), ValueError) and isinstance(MissingFileError("x"), FileNotFoundError)


def test_first_names_run_their_command_and_library_modules_name_theirs(tmp_path):
    """`python -m expr_gan.<command>` runs expr_gan/commands/<command>.py; a library module that was
    once a command says which command it is now, instead of doing nothing."""
    from expr_gan.commands import COMMANDS as ALL

    first_names = sorted(p.stem for p in (REPO / "expr_gan").glob("*.py") if p.stem in ALL)
    assert first_names == ["bench", "calibrate", "evaluate", "generate", "replicate", "report", "train"]
    for name in ("evaluate", "calibrate"):
        result = run_cli(f"expr_gan.{name}", "--help", cwd=REPO)
        assert result.returncode == 0 and f"== Config (conf/{name}.yaml" in result.stdout
    for old, new in (("expr_gan.data.synthetic", "render"), ("expr_gan.photo.packaged", "photos")):
        result = run_cli(old, f"out={tmp_path}/x", cwd=REPO)
        assert result.returncode == 1 and f"its command is `expr-gan {new}`" in result.stderr
    assert not (tmp_path / "x").exists()


def test_photos_takes_one_folder_or_help(capsys):
    from expr_gan.commands.photos import main

    assert run(main, ["a", "b"]) == 2 and "at most one argument" in capsys.readouterr().err
    assert run(main, ["--force"]) == 2
    assert run(main, ["--help"]) == 0 and "expr-gan photos" in capsys.readouterr().out
