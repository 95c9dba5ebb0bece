"""Placeholder: rule module 'transport' (being written)."""
