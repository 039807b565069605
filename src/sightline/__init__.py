"""Sightline: self-hosted tracing and evaluation for AI agents."""

__version__ = "0.1.0"
