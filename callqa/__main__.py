"""``python -m callqa``: the same as the ``callqa`` command."""

from callqa.cli import main

if __name__ == "__main__":
    main()
