"""Run the `tickstock` command line as `python -m dashapp.cli`."""

from dashapp.cli import main

main()
