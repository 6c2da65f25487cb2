"""`python -m fargo` is the `fargo` command."""

from fargo.cli.main import main

main()
