"""One package per vendor API."""
