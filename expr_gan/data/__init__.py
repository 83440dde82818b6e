"""Data: the embedded procedural faces, real-dataset sources, caches, pairs and the datamodule."""
