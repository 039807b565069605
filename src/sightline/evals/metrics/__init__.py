"""A project's own metrics: their definitions, versions and score types (issue 15).

The engine half (what each kind computes) is ``engine/metrics/custom/``."""
