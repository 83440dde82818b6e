"""`python -m expr_gan.evaluate`: the evaluate command under its first name (every metric of a checkpoint and the baselines; photos=... on real photos); the code is
expr_gan/commands/evaluate.py (`expr-gan evaluate`)."""
import sys

if __name__ == "__main__":
    from expr_gan.commands import run_command

    sys.exit(run_command("evaluate", sys.argv[1:]))
