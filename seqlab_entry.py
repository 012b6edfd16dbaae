"""The `seqlab` console command's entry point, outside the seqlab package on purpose.

``import seqlab`` imports torch, which takes seconds; a Ctrl-C then would print a
traceback from deep inside torch. This module imports nothing heavy itself, so the
interrupt is caught around the import as well as around the command: one line, exit 130.

    >>> import subprocess, sys
    >>> subprocess.run([sys.executable, "-c", "import seqlab_entry"]).returncode
    0
"""
import sys


def main() -> int:
    """``seqlab.cli.main`` with Ctrl-C at start-up (importing torch) exiting 130 in one line."""
    try:
        from seqlab.cli import main as cli_main
        return cli_main()
    except KeyboardInterrupt:
        print("seqlab: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
