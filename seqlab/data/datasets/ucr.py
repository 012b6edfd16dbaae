"""Time-series classification from the UCR/UEA archive, read from aeon 1.6.0's bundled files.

The ``.ts`` format (sktime/aeon): ``#`` comment lines, ``@`` header lines
(``@problemName``, ``@univariate``, ``@equalLength``, ``@classLabel true 1 2``...), then
``@data`` and one case per line: the dimensions separated by ``:``, the values of one
dimension by ``,``, the class label last. ``?`` marks a missing value.

Each loader returns the archive's official split: ``x_train``/``x_test`` of shape
(N, T, D) float32 (a list of (T_i, D) arrays when lengths vary, e.g. JapaneseVowels),
``y_train``/``y_test`` int64 indices into ``classes`` (the labels of ``@classLabel``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from seqlab.data.datasets.registry import Bunch, package_file, register

AEON_PIP = "pip install --no-deps aeon==1.6.0"
SKTIME_PIP = "pip install --no-deps sktime==1.2.0"
LICENSE = "research use (UCR/UEA archive)"


def read_ts(path: Path) -> tuple[list[np.ndarray], list[str], dict]:
    """Parse a ``.ts`` file: (cases as (T_i, D) arrays, labels, header dict)."""
    header: dict = {}
    cases, labels = [], []
    in_data = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if line.lower() == "@data":
                    in_data = True
                elif line.startswith("@"):
                    key, _, value = line[1:].partition(" ")
                    header[key.lower()] = value.strip()
                continue
            *dims, label = line.split(":")
            try:
                arrays = [np.array([np.nan if v.strip() == "?" else float(v)
                                    for v in d.split(",")]) for d in dims]
            except ValueError as e:
                raise ValueError(f"{path}, line {n}: not a number in a .ts case ({e}).") \
                    from None
            length = max(len(a) for a in arrays)
            if any(len(a) != length for a in arrays):
                raise ValueError(f"{path}, line {n}: dimensions of unequal length.")
            cases.append(np.stack(arrays, axis=1))  # (T_i, D)
            labels.append(label.strip())
    if not in_data or not cases:
        raise ValueError(f"{path}: no @data section with cases; not a .ts file?")
    return cases, labels, header


def _ucr(name: str, dataset: str) -> Bunch:
    rel = f"aeon/datasets/data/{dataset}/{dataset}_{{}}.ts"
    parts = {}
    for split in ("TRAIN", "TEST"):
        path = package_file(name, "aeon", AEON_PIP, rel.format(split))
        parts[split] = read_ts(path)
    header = parts["TRAIN"][2]
    declared = header.get("classlabel", "").split()[1:]
    seen = sorted(set(parts["TRAIN"][1]) | set(parts["TEST"][1]))
    classes = declared if declared and set(seen) <= set(declared) else seen
    index = {c: i for i, c in enumerate(classes)}
    out = Bunch(classes=classes, problem=header.get("problemname", dataset))
    equal = len({c.shape for split in parts.values() for c in split[0]}) == 1
    for split, (cases, labels, _) in parts.items():
        x = np.stack(cases).astype(np.float32) if equal else \
            [c.astype(np.float32) for c in cases]  # (N, T, D) or N x (T_i, D)
        out[f"x_{split.lower()}"] = x
        out[f"y_{split.lower()}"] = np.array([index[l] for l in labels], dtype=np.int64)
    out["equal_length"] = equal
    return out


_UCR = {
    "gunpoint": ("GunPoint", "GunPoint: the x-coordinate of an actor's hand drawing a gun vs "
                 "pointing a finger; 2 classes, 50 train / 150 test series of length 150.",
                 "200 series x 150 steps"),
    "italy_power_demand": ("ItalyPowerDemand", "ItalyPowerDemand: 24 hourly electricity "
                           "demands of a day in Italy, Oct-Mar vs Apr-Sep; 2 classes, 67 train "
                           "/ 1,029 test.", "1,096 series x 24 steps"),
    "arrowhead": ("ArrowHead", "ArrowHead: outlines of projectile points as 1-D series; 3 "
                  "classes, 36 train / 175 test series of length 251.",
                  "211 series x 251 steps"),
    "osuleaf": ("OSULeaf", "OSULeaf: leaf outlines as 1-D series; 6 classes, 200 train / "
                "242 test series of length 427.", "442 series x 427 steps"),
    "basic_motions": ("BasicMotions", "BasicMotions (multivariate): smartwatch accelerometer "
                      "and gyroscope (6 channels) while standing, walking, running, playing "
                      "badminton; 40 train / 40 test of length 100.",
                      "80 series x 100 steps x 6"),
    "japanese_vowels": ("JapaneseVowels", "JapaneseVowels (multivariate, variable length): 12 "
                        "LPC coefficients of 9 speakers saying 'ae'; 270 train / 370 test of "
                        "7-29 steps (x is a list of arrays).", "640 series x 7-29 steps x 12"),
}


def _make(name: str, dataset: str):
    def loader() -> Bunch:
        return _ucr(name, dataset)
    loader.__name__ = f"load_{name}"
    loader.__doc__ = f"{dataset} from the UCR/UEA archive, official train/test split."
    return loader


for _name, (_dataset, _description, _size) in _UCR.items():
    register(_name, description=_description, size=_size, task="classification",
             license=LICENSE, source=f"UCR/UEA archive via aeon 1.6.0 "
             f"(aeon/datasets/data/{_dataset}/*.ts)", package="aeon",
             pip=AEON_PIP)(_make(_name, _dataset))
