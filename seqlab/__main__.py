"""``python -m seqlab ...``: the `seqlab` command (see seqlab.cli); Ctrl-C exits 130."""
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
