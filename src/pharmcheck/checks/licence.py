"""Placeholder: rule module 'licence' (being written)."""
