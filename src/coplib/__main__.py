"""``python -m coplib``: the command line (`coplib.cli.main`)."""

from coplib.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
