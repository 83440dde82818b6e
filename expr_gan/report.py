"""`python -m expr_gan.report`: the report command under its first name (one table from a sweep or from evaluations); the code is
expr_gan/commands/report.py (`expr-gan report`)."""
import sys

if __name__ == "__main__":
    from expr_gan.commands import run_command

    sys.exit(run_command("report", sys.argv[1:]))
