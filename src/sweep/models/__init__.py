"""The networks a cell can train: the contract a builder keeps, the built-in MLP and CNN, the layer recipes."""
