"""``python -m seqlab ...`` (and ``torchrun ... -m seqlab train CONFIG.toml``): the `seqlab`
command (see seqlab.cli); Ctrl-C exits 130.

Python imports the seqlab package (and torch) before this module runs; the `seqlab`
console script (seqlab_entry.py) also covers a Ctrl-C during that import."""
import sys


def _main() -> int:
    try:
        from seqlab.cli import main
        return main()
    except KeyboardInterrupt:
        print("seqlab: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(_main())
