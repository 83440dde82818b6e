"""Networks: plain nn.Modules built from Hydra configs (no Lightning here)."""
