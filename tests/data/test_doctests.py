"""The examples in seqlab.data's docstrings run and print what they show."""
import doctest
import importlib

import pytest

MODULES = ["seqlab.data.batching", "seqlab.data.padding", "seqlab.data.text",
           "seqlab.data.series", "seqlab.data.files", "seqlab.data.datasets",
           "seqlab.data.datasets.registry", "seqlab.data.datasets.addition"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
