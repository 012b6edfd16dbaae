"""Real series for forecasting, read from the files of statsmodels, aeon/sktime, vega_datasets.

Each loader returns ``series`` ((T,) float64, or (T, D) for multivariate data),
``time`` (the time stamps as strings or numbers), ``columns`` and ``period`` (the seasonal
period in steps, for seasonal-naive baselines and MASE; None when there is none).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from seqlab.data.datasets.registry import Bunch, MissingPackageError, package_file, register

STATSMODELS_PIP = "pip install statsmodels"
AEON_PIP = "pip install --no-deps aeon==1.6.0"
SKTIME_PIP = "pip install --no-deps sktime==1.2.0"
VEGA_PIP = "pip install vega_datasets==0.9.0"


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r]
    return rows[0], rows[1:]


def _column(rows: list[list[str]], j: int) -> np.ndarray:
    return np.array([float(r[j]) if r[j].strip() else np.nan for r in rows])


def _statsmodels(name: str, file: str, column: str, period) -> Bunch:
    path = package_file(name, "statsmodels", STATSMODELS_PIP,
                        f"statsmodels/datasets/{file}")
    header, rows = _read_csv(path)
    j = header.index(column)
    return Bunch(series=_column(rows, j), time=[r[0] for r in rows], columns=[column],
                 period=period)


@register("sunspots", description="Yearly mean sunspot numbers 1700-2008 (309 values), the "
          "classic ~11-year cycle.", size="309 steps", task="forecasting",
          license="public domain", source="NOAA NGDC via statsmodels "
          "(statsmodels/datasets/sunspots/sunspots.csv)", package="statsmodels",
          pip=STATSMODELS_PIP)
def load_sunspots() -> Bunch:
    return _statsmodels("sunspots", "sunspots/sunspots.csv", "SUNACTIVITY", 11)


@register("nile", description="Yearly flow volume of the Nile at Aswan 1871-1970 (100 "
          "values), with a change point near 1898.", size="100 steps", task="forecasting",
          license="public domain", source="Cobb (1978) via statsmodels "
          "(statsmodels/datasets/nile/nile.csv)", package="statsmodels", pip=STATSMODELS_PIP)
def load_nile() -> Bunch:
    return _statsmodels("nile", "nile/nile.csv", "volume", None)


@register("co2", description="Weekly atmospheric CO2 at Mauna Loa 1958-2001 (2,284 weeks, "
          "ppm); the 59 missing weeks are filled by linear interpolation (see `missing`).",
          size="2,284 steps", task="forecasting", license="public domain",
          source="Scripps/CDIAC via statsmodels (statsmodels/datasets/co2/co2.csv)",
          package="statsmodels", pip=STATSMODELS_PIP)
def load_co2() -> Bunch:
    data = _statsmodels("co2", "co2/co2.csv", "co2", 52)
    s = data.series
    missing = np.isnan(s)
    t = np.arange(len(s))
    s[missing] = np.interp(t[missing], t[~missing], s[~missing])
    data.missing = missing
    return data


def _aeon_or_sktime(name: str, dataset: str) -> Path:
    try:
        return package_file(name, "aeon", AEON_PIP,
                            f"aeon/datasets/data/{dataset}/{dataset}.csv")
    except MissingPackageError:
        return package_file(name, "sktime", f"{AEON_PIP} (or {SKTIME_PIP})",
                            f"sktime/datasets/data/{dataset}/{dataset}.csv")


@register("airline", description="Box & Jenkins's monthly international airline passengers "
          "1949-1960 (thousands; 144 values), trend and multiplicative yearly seasonality.",
          size="144 steps", task="forecasting", license="public domain",
          source="Box & Jenkins (1976) via aeon 1.6.0 or sktime (datasets/data/Airline)",
          package="aeon", pip=AEON_PIP)
def load_airline() -> Bunch:
    header, rows = _read_csv(_aeon_or_sktime("airline", "Airline"))
    return Bunch(series=_column(rows, 1), time=[r[0] for r in rows], columns=[header[1]],
                 period=12)


@register("lynx", description="Annual Canadian lynx trappings 1821-1934 (114 values), a "
          "~10-year predator-prey cycle.", size="114 steps", task="forecasting",
          license="public domain", source="Elton & Nicholson (1942) via aeon 1.6.0 or "
          "sktime (datasets/data/Lynx)", package="aeon", pip=AEON_PIP)
def load_lynx() -> Bunch:
    _, rows = _read_csv(_aeon_or_sktime("lynx", "Lynx"))
    return Bunch(series=_column(rows, 1), time=[r[0] for r in rows], columns=["lynx"],
                 period=10)


@register("seattle_weather", description="Daily Seattle weather 2012-2015 (1,461 days), "
          "multivariate: precipitation, temp_max, temp_min, wind (series (T, 4)); the "
          "weather type (rain, sun...) is in `weather`.", size="1,461 steps x 4",
          task="forecasting", license="public domain (NOAA)",
          source="NOAA via vega_datasets 0.9.0 (vega_datasets/_data/seattle-weather.csv)",
          package="vega_datasets", pip=VEGA_PIP)
def load_seattle_weather() -> Bunch:
    path = package_file("seattle_weather", "vega_datasets", VEGA_PIP,
                        "vega_datasets/_data/seattle-weather.csv")
    header, rows = _read_csv(path)
    cols = ["precipitation", "temp_max", "temp_min", "wind"]
    series = np.stack([_column(rows, header.index(c)) for c in cols], axis=1)  # (T, 4)
    return Bunch(series=series, time=[r[0] for r in rows], columns=cols, period=365,
                 weather=[r[header.index("weather")] for r in rows])
