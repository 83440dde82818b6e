"""One file per metric of the evaluator, each defining METRIC (expr_gan/metrics/registry.py)."""
