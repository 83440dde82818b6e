"""`python -m expr_gan.calibrate`: the calibrate command under its first name (the photo referees' calibration on real photos); the code is
expr_gan/commands/calibrate.py (`expr-gan calibrate`)."""
import sys

if __name__ == "__main__":
    from expr_gan.commands import run_command

    sys.exit(run_command("calibrate", sys.argv[1:]))
