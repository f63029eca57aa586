"""sweep's Hydra sweepers (`hydra/sweeper=search`, `hydra/sweeper=race`): Hydra discovers plugins in this namespace."""
