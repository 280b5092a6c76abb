"""A fictional vendor kept with the tests: its spec and its package, and nothing anywhere else."""
