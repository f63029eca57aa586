"""hydra/sweeper=race: cells proven worse leave, the rest get more seeds (docs/race.md)."""
