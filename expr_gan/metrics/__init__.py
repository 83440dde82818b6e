"""Metrics: the expression judge, the identity embedding, paired and collapse metrics, the evaluator."""
