"""Placeholder: rule module 'address' (being written)."""
