"""hydra/sweeper=search: the search space, its options and plan, the Optuna trials in flight (docs/search.md)."""
