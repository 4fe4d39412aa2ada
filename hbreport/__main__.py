"""`python -m hbreport` runs the command line."""

from .cli import main

main()
