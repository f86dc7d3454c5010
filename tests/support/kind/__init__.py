"""CI-only machinery for a kind cluster on a machine without registry access (see prepare())."""
