"""Installed as ``moderation.shipped``: the shipped default model, found with importlib.resources."""
