"""`python -m perpcli` behaves exactly like the `perp` console script."""

from perpcli.cli.entry import run

if __name__ == "__main__":
    run()
