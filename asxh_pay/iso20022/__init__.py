"""ISO 20022 files for the State Treasury / bank rail."""
