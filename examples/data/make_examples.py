"""Write the small data files of the user-file examples (examples/*_file.toml).

Every file is generated here from a fixed seed (nothing is downloaded), each under 50 KB:

* ``reviews.csv``          text + label: short product reviews, positive or negative;
* ``reviews_train.csv`` / ``reviews_test.csv``  the same kind of reviews, split by you;
* ``shapes_wide.csv``      wide series: a row is a series of 40 steps (t00..t39) + its shape;
* ``shapes_long.csv``      long series: id, time, value, label (one row per step);
* ``motion_long.csv``      multivariate long series: id, time, ax, ay (two channels), label;
* ``shapes_TRAIN.ts`` / ``shapes_TEST.ts``  the UCR/UEA archive's ``.ts`` format;
* ``demand.csv``           forecasting: date, demand (daily season of 24 hours), temperature.
* ``shops_long.csv``       forecasting several series: shop, hour, sales (a daily and a weekly
                           season) and promo, a promotion planned ahead that adds to the sales.

The series classes are shapes a person tells apart at a glance, with noise: "rise"
(a ramp up), "fall" (a ramp down), "wave" (two periods of a sine). Run from the repository
root: ``python examples/data/make_examples.py``.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPES = ("rise", "fall", "wave")
_GOOD = "great excellent lovely superb wonderful enjoyable solid sturdy reliable fun".split()
_BAD = "awful terrible broken poor useless boring flimsy cheap disappointing noisy".split()
_FILL = "the this it was product item really quite very and but so arrived works".split()


def review(rng: np.random.Generator, positive: bool) -> str:
    words = list(rng.choice(_FILL, size=rng.integers(4, 8)))
    for _ in range(rng.integers(1, 3)):
        words.insert(int(rng.integers(0, len(words) + 1)),
                     str(rng.choice(_GOOD if positive else _BAD)))
    return " ".join(words)


def reviews(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    labels = rng.integers(0, 2, size=n)
    return [(review(rng, bool(l)), "pos" if l else "neg") for l in labels]


def shape(rng: np.random.Generator, kind: str, length: int) -> np.ndarray:
    """One noisy series (length,) of the given shape, random level and amplitude."""
    t = np.linspace(0.0, 1.0, length)
    amp = rng.uniform(0.8, 1.5)
    base = {"rise": t, "fall": 1.0 - t, "wave": 0.5 + 0.5 * np.sin(4 * np.pi * t)}[kind]
    return rng.uniform(-0.5, 0.5) + amp * base + rng.normal(0.0, 0.15, length)


def write_csv(name: str, header: list, rows) -> None:
    with open(HERE / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def fmt(v: float) -> str:
    return f"{v:.3f}"


def main() -> None:
    rng = np.random.default_rng(0)
    write_csv("reviews.csv", ["text", "label"], reviews(rng, 300))
    write_csv("reviews_train.csv", ["text", "label"], reviews(rng, 240))
    write_csv("reviews_test.csv", ["text", "label"], reviews(rng, 80))

    kinds = [SHAPES[i % 3] for i in range(120)]
    write_csv("shapes_wide.csv", ["label"] + [f"t{j:02d}" for j in range(40)],
              [[k] + [fmt(v) for v in shape(rng, k, 40)] for k in kinds])

    rows = []
    for i, k in enumerate(SHAPES[i % 3] for i in range(90)):
        rows += [[f"s{i}", j, fmt(v), k] for j, v in enumerate(shape(rng, k, 24))]
    write_csv("shapes_long.csv", ["id", "time", "value", "label"], rows)

    rows = []
    for i in range(72):
        k = SHAPES[i % 3]
        ax, ay = shape(rng, k, 20), shape(rng, SHAPES[(i + 1) % 3], 20)  # ay: a paired shape
        rows += [[f"m{i}", j, fmt(a), fmt(b), k] for j, (a, b) in enumerate(zip(ax, ay))]
    write_csv("motion_long.csv", ["id", "time", "ax", "ay", "label"], rows)

    for split, n in (("TRAIN", 60), ("TEST", 60)):
        lines = ["# Noisy ramps and waves (seqlab examples).", "@problemName shapes",
                 "@timeStamps false", "@missing false", "@univariate true",
                 "@equalLength true", "@seriesLength 30", "@classLabel true rise fall wave",
                 "@data"]
        for i in range(n):
            k = SHAPES[i % 3]
            lines.append(",".join(fmt(v) for v in shape(rng, k, 30)) + f":{k}")
        (HERE / f"shapes_{split}.ts").write_text("\n".join(lines) + "\n", encoding="utf-8")

    hours = np.arange(24 * 40)
    temp = 15 + 8 * np.sin(2 * np.pi * hours / 24 - 2) + rng.normal(0, 1, len(hours))
    demand = (100 + 30 * np.sin(2 * np.pi * hours / 24) + 0.8 * (temp - 15)
              + rng.normal(0, 3, len(hours)))
    dates = np.datetime64("2024-01-01T00") + hours.astype("timedelta64[h]")
    write_csv("demand.csv", ["date", "demand", "temperature"],
              [[str(d).replace("T", " ") + ":00", f"{y:.1f}", f"{t:.1f}"]
               for d, y, t in zip(dates, demand, temp)])

    shops(np.random.default_rng(16))


def shops(rng: np.random.Generator, hours: int = 24 * 21) -> None:
    """Three shops, hourly for 3 weeks: level x (daily + weekly season) + 25 x promo + noise.
    A promotion (about 1 hour in 8, planned ahead) is what the seasonal naive forecast
    cannot know and the known-future covariate tells."""
    t = np.arange(hours)
    rows = []
    for shop, level in (("north", 60.0), ("south", 90.0), ("east", 40.0)):
        promo = (rng.random(hours) < 0.125).astype(int)
        sales = (level * (1 + 0.3 * np.sin(2 * np.pi * t / 24))
                 * (1 + 0.15 * np.sin(2 * np.pi * t / 168)) + 25 * promo
                 + rng.normal(0, 2, hours))
        rows += [[shop, str(i), f"{y:.1f}", str(p)] for i, y, p in zip(t, sales, promo)]
    write_csv("shops_long.csv", ["shop", "hour", "sales", "promo"], rows)


if __name__ == "__main__":
    main()
