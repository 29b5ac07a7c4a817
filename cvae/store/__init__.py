"""What is saved: checkpoints (a run's directory), run bundles (.zip export and import), and the
teacher's settings; every write atomic, nothing a user hands in is unpickled."""
