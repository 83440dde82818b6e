"""What a first `make train` installs: the runtime dependencies, not the dev extra (test tools, sweep
launchers, OpenCV, matplotlib), and training needs nothing more."""
import subprocess
import sys
import textwrap

from conftest import REPO

# the dev extra's packages as a runtime-only venv lacks them: their modules and their distributions
DEV_MODULES = ("pytest", "cv2", "matplotlib", "optuna", "submitit")
DEV_DISTRIBUTIONS = ("pytest", "opencv-python-headless", "matplotlib", "optuna", "submitit", "hydra-joblib-launcher",
                     "hydra-submitit-launcher", "hydra-optuna-sweeper")

def _dry_run(target: str, venv) -> str:
    """The commands `make <target>` would run for a venv that does not exist yet."""
    done = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_train_installs_the_runtime_only_and_make_test_adds_the_dev_extra(tmp_path):
    train = _dry_run("train", tmp_path / "venv")
    assert "pip install --no-compile -e .\n" in train and "[dev]" not in train
    assert train.index("torch==2.14.1") < train.index("-e .") < train.index("import torch") < train.index("-m expr_gan.train")
    test = _dry_run("test", tmp_path / "venv")
    assert "pip install --no-compile -e .\n" in test and 'pip install -e ".[dev]"' in test and "pytest" in test


def _run_without(modules: tuple, dists: tuple, tmp_path) -> subprocess.CompletedProcess:
    """A short run of the default experiment and an evaluation, in a process where `modules` and
    `dists` look uninstalled."""
    script = textwrap.dedent(f"""
        import importlib.metadata, sys
        modules, dists = {modules!r}, {dists!r}
        class Absent:  # as if not installed: no module, no distribution metadata
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in modules:
                    raise ModuleNotFoundError(f"No module named {{name!r}}")
        sys.meta_path.insert(0, Absent())
        for attr in ("version", "distribution"):
            def hidden(name, _real=getattr(importlib.metadata, attr)):
                if name.lower().replace("_", "-") in dists:
                    raise importlib.metadata.PackageNotFoundError(name)
                return _real(name)
            setattr(importlib.metadata, attr, hidden)
        from hydra import compose, initialize_config_dir
        from omegaconf import open_dict
        from expr_gan.config import config_dir
        from expr_gan.commands.train import train
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose("train", overrides=["debug=tiny", "print_config=false", "max_batches=2"])
        with open_dict(cfg):
            cfg.paths.output_dir, cfg.paths.cache_dir = {str(tmp_path / "run")!r}, {str(tmp_path / "cache")!r}
        train(cfg)
        from expr_gan.commands.evaluate import main
        assert main(["ckpt={tmp_path / "run" / "checkpoints" / "last.ckpt"}", "out={tmp_path / "eval"}",
                     "max_pairs=8", "baselines=[]", "c2st.steps=5", "c2st.seeds=1"]) == 0
        print("loaded:", sorted(m for m in modules if m in sys.modules))
    """)
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_training_and_evaluation_need_no_dev_only_package(tmp_path):
    done = _run_without(DEV_MODULES, DEV_DISTRIBUTIONS, tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "loaded: []" in done.stdout


def test_a_missing_runtime_package_is_caught(tmp_path):
    """The positive control: hiding a package the default run does use (TensorBoard, its logger) fails it."""
    done = _run_without(("tensorboard",), ("tensorboard",), tmp_path)
    assert done.returncode != 0 and "tensorboard" in done.stderr.lower()
