"""`python -m expr_gan.train`: the train command under its first name (train a model (Hydra: model=..., experiment=..., -m for sweeps)); the code is
expr_gan/commands/train.py (`expr-gan train`)."""
import sys

if __name__ == "__main__":
    from expr_gan.commands import run_command

    sys.exit(run_command("train", sys.argv[1:]))
