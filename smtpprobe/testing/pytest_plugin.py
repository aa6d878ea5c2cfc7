"""Placeholder; replaced by the double's pytest plugin."""
