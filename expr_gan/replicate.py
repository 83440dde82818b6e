"""`python -m expr_gan.replicate`: the replicate command under its first name (the report, claim by claim); the code is
expr_gan/commands/replicate.py (`expr-gan replicate`)."""
import sys

if __name__ == "__main__":
    from expr_gan.commands import run_command

    sys.exit(run_command("replicate", sys.argv[1:]))
