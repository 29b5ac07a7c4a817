"""Rules over the repository itself: layout and import contracts, dead code, the docs, the committed JS bundles."""
