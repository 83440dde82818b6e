"""LightningModules, one per model family; they orchestrate nets and losses, never build layers."""
