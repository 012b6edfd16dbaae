"""``python -m seqlab ...`` (and ``torchrun ... -m seqlab train CONFIG.toml``): the CLI."""
import sys

from seqlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
