"""`python -m expr_gan.generate`: the generate command under its first name (edit photos (or images) to every target with a checkpoint); the code is
expr_gan/commands/generate.py (`expr-gan generate`)."""
import sys

if __name__ == "__main__":
    from expr_gan.commands import run_command

    sys.exit(run_command("generate", sys.argv[1:]))
