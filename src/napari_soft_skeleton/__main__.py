"""``python -m napari_soft_skeleton`` runs the ``soft-skeleton`` command line."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
