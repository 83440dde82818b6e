"""Losses: plain nn.Modules built from Hydra configs."""
