"""The report, claim by claim: `python -m expr_gan.replicate` (expr_gan/commands/replicate.py).

jobs      the report's experiments as training jobs, per budget (tiny, cpu, paper)
measures  what the claims are decided on, beyond the evaluator: loss curves, pose bias, refinement
          change, metrics over training, a photograph from outside the data
claims    each claim: the report's words and numbers, the test (metric and threshold, fixed before
          any run), and the verdict from the measured values
figures   one PNG per claim: the jobs' sample grids side by side and, where the claim is about
          training, the curves
"""
