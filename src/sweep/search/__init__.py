"""What the sweepers share: the search space, the Optuna study, racing's rounds (hydra_plugins.sweep_sweepers)."""
