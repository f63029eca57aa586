"""sweep's Hydra launcher (`hydra/launcher=parallel`, the default): Hydra discovers plugins in this namespace."""
