"""``python -m codey.testing serve``: see :func:`codey.testing.main`."""

from codey.testing._demo import main

if __name__ == "__main__":
    raise SystemExit(main())
