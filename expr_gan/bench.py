"""`python -m expr_gan.bench`: the bench command under its first name (our training step vs a plain PyTorch loop; the photo path); the code is
expr_gan/commands/bench.py (`expr-gan bench`)."""
import sys

if __name__ == "__main__":
    from expr_gan.commands import run_command

    sys.exit(run_command("bench", sys.argv[1:]))
