"""Placeholder: rule module 'scope' (being written)."""
