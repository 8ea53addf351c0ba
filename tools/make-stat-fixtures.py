#!/usr/bin/env python3
"""Writes the scipy/numpy reference answers that OverlayStatisticsTests check against.

Deterministic: every input comes from a seeded numpy Generator, and each JSON file records the
scipy and numpy versions that produced it. Rerun after a scipy upgrade and review the diff.

    python3 tools/make-stat-fixtures.py
"""

import json
import pathlib

import numpy as np
import scipy
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "OverlayStatisticsTests" / "Fixtures"
RNG = np.random.default_rng(20260101)


def floats(values):
    return [float(v) for v in values]


def write(name, cases):
    document = {
        "generator": "tools/make-stat-fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    (OUT / name).write_text(json.dumps(document, indent=1) + "\n")


def mann_whitney():
    inputs = {
        "continuous-equal-sizes": (RNG.normal(100, 10, 30), RNG.normal(105, 10, 30)),
        "continuous-unequal-sizes": (RNG.exponential(50, 12), RNG.exponential(80, 47)),
        "integer-ties": (RNG.integers(0, 6, 25), RNG.integers(1, 7, 18)),
        "heavy-ties-small": ([1, 1, 2, 2, 2, 3], [2, 3, 3, 3, 4, 4, 4, 5]),
        "identical-samples": (np.arange(10), np.arange(10)),
        "complete-separation": (np.arange(1, 9), np.arange(20, 31)),
        "single-x": ([5.0], RNG.normal(0, 1, 9)),
        "all-tied": ([7, 7, 7, 7], [7, 7, 7]),
        "latency-like": (RNG.lognormal(10, 0.3, 200), RNG.lognormal(10.05, 0.3, 150)),
    }
    cases = []
    for name, (x, y) in inputs.items():
        x, y = floats(x), floats(y)
        result = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
        cases.append({"name": name, "x": x, "y": y, "u": float(result.statistic), "pValue": float(result.pvalue)})
    return cases


def theil_sen():
    x_repeated = np.repeat(np.arange(1, 9), 4)
    inputs = {
        "noisy-line": (np.arange(20), 5 + 0.7 * np.arange(20) + RNG.normal(0, 1, 20)),
        "repeated-x-layers": (x_repeated, 1000 + 35 * x_repeated + RNG.normal(0, 20, x_repeated.size)),
        "integer-y-ties": (np.arange(15), np.round(0.5 * np.arange(15) + RNG.normal(0, 1, 15))),
        "outlier-resistant": (np.arange(12), np.concatenate([2 * np.arange(11) + 1, [500]])),
        "few-points": ([1, 2, 4, 7], [3.0, 2.5, 6.0, 9.5]),
        "unsorted-x": (RNG.uniform(0, 50, 25), None),
    }
    cases = []
    for name, (x, y) in inputs.items():
        x = np.asarray(x, dtype=float)
        if y is None:
            y = -2 + 0.3 * x + RNG.standard_t(3, x.size)
        for level in (0.95, 0.90):
            result = stats.theilslopes(y, x, alpha=level, method="joint")
            cases.append({
                "name": name, "x": floats(x), "y": floats(y), "level": level,
                "slope": float(result.slope), "intercept": float(result.intercept),
                "lowSlope": float(result.low_slope), "highSlope": float(result.high_slope),
            })
    return cases


def linear_regression():
    inputs = {
        "noisy-line": (np.arange(10), 3 + 2 * np.arange(10) + RNG.normal(0, 0.5, 10)),
        "layers": (np.repeat([1, 2, 4, 8, 16], 5), None),
        "three-points": ([0, 1, 3], [1.0, 2.5, 2.0]),
    }
    cases = []
    for name, (x, y) in inputs.items():
        x = np.asarray(x, dtype=float)
        if y is None:
            y = 800 + 42 * x + RNG.normal(0, 30, x.size)
        result = stats.linregress(x, y)
        for level in (0.95, 0.99):
            t = stats.t.ppf((1 + level) / 2, x.size - 2)
            cases.append({
                "name": name, "x": floats(x), "y": floats(y), "level": level,
                "slope": float(result.slope), "intercept": float(result.intercept),
                "slopeLower": float(result.slope - t * result.stderr),
                "slopeUpper": float(result.slope + t * result.stderr),
                "interceptLower": float(result.intercept - t * result.intercept_stderr),
                "interceptUpper": float(result.intercept + t * result.intercept_stderr),
                "rSquared": float(result.rvalue ** 2),
            })
    return cases


def student_t_ppf():
    ps = [1e-10, 1e-6, 0.0005, 0.005, 0.025, 0.05, 0.1, 0.3, 0.5, 0.51, 0.7, 0.9, 0.95, 0.975, 0.995,
          0.9995, 1 - 1e-6]
    dfs = [1, 1.5, 2, 3, 4, 5, 7, 10, 17, 30, 60, 120, 1000, 1e5]
    return [{"p": p, "df": float(df), "value": float(stats.t.ppf(p, df))} for df in dfs for p in ps]


def normal():
    ps = [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.01, 0.025, 0.02425, 0.05, 0.1, 0.25, 0.4, 0.5,
          0.6, 0.75, 0.9, 0.95, 0.975, 0.97575, 0.99, 0.999, 1 - 1e-5, 1 - 1e-10]
    xs = [-38, -20, -8.5, -5, -3, -1.96, -1, -0.5, 0, 0.3, 1, 1.644853626951472, 2.5, 5, 8.5]
    return {
        "quantile": [{"p": p, "value": float(stats.norm.ppf(p))} for p in ps],
        "cdf": [{"x": float(x), "value": float(stats.norm.cdf(x))} for x in xs],
    }


def percentiles():
    inputs = {
        "uniform-1-1000": np.arange(1, 1001),
        "normal-37": RNG.normal(1000, 100, 37),
        "lognormal-unsorted-250": RNG.lognormal(9, 1, 250),
        "two-values": [3.0, 11.0],
        "single": [42.0],
    }
    points = [0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]
    cases = []
    for name, samples in inputs.items():
        samples = floats(samples)
        values = np.percentile(samples, points)  # numpy's default "linear" is Hyndman-Fan type 7
        cases.append({"name": name, "samples": samples, "percentiles": floats(points), "values": floats(values)})
    return cases


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write("mannwhitneyu.json", mann_whitney())
    write("theilslopes.json", theil_sen())
    write("linregress.json", linear_regression())
    write("t_ppf.json", student_t_ppf())
    write("norm.json", normal())
    write("percentile.json", percentiles())


if __name__ == "__main__":
    main()
