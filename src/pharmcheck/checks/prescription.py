"""Placeholder: rule module 'prescription' (being written)."""
