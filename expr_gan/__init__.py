"""expr_gan: facial expression editing research framework (PyTorch Lightning + Hydra)."""
__version__ = "0.1.0"
