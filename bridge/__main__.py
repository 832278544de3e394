"""`python -m bridge`: the same CLI as the `dbbridge` command."""

from bridge.cli import main

main()
