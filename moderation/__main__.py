"""``python -m moderation`` runs the command line."""

from .cli import main

main()
