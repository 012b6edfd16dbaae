"""seqlab.datasets: every data set the course uses, loadable offline by name.

    >>> from seqlab import datasets
    >>> "addition" in datasets.list() and "gunpoint" in datasets.list()
    True
    >>> d = datasets.load("addition", digits=3, count=5, seed=0)
    >>> len(d.questions), d.task
    (5, 'seq2seq')

``datasets.info(name)`` gives an entry's description, size, task, license and source;
``datasets.format_table()`` is the table that ``seqlab datasets`` prints.
"""
from seqlab.data.datasets.registry import (Bunch, Entry, MissingPackageError, format_table,
                                           info, list_datasets, load, register)
# Importing the modules registers their datasets.
from seqlab.data.datasets import (addition, forecasting, generated, music, packaged,  # noqa: F401
                                  spoken, ucr)

list = list_datasets  # noqa: A001  (seqlab.datasets.list())

# `import seqlab.datasets` works as well as `from seqlab import datasets`.
import sys as _sys  # noqa: E402

_sys.modules.setdefault("seqlab.datasets", _sys.modules[__name__])

__all__ = ["Bunch", "Entry", "MissingPackageError", "format_table", "info", "list",
           "list_datasets", "load", "register"]
