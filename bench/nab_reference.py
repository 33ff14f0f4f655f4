"""Two of NAB's published detectors, re-implemented, to check bench/nab_scoring.py end to end.

What it does: re-runs two deterministic NAB baselines on a series so their per-row anomaly scores
can be scored with our scorer and compared with the per-file scores NAB published for them
(../shared/corpus/nab/results/<detector>/<detector>_standard_scores.csv). The corpus holds only
those per-file summaries, not NAB's per-row results files, so re-running is the only way to get
per-row scores of a published detector here. Written from reading numenta/NAB:

- `windowed_gaussian` (nab/detectors/gaussian/windowedGaussian_detector.py): the score of a value
  is 1 - Q(z), Q the normal tail probability of its distance from the mean of a window of past
  values (the first 6,400 values, then slid forward 100 values at a time; the first value
  scores 0; a zero spread becomes 1e-6).
- `relative_entropy` (nab/detectors/relative_entropy/relative_entropy_detector.py, after Wang et
  al., "Statistical techniques for online anomaly detection in data centers", 2011): values are
  quantised into 5 bins over the file's min..max, each 52-value window's bin histogram is tested
  against the hypotheses seen so far with the relative-entropy statistic 2 W KL(P_hat || P) below
  the chi-squared (4 degrees of freedom) 0.99 point; a window that matches no hypothesis, or a
  hypothesis seen only once before, scores 1.0; otherwise 0.0 (bins by true division: the published
  per-file scores match that, not Python 2's integer division).

NAB's results files of that time were written under Python 2, whose str() keeps 12 significant
digits, so windowedGaussian's 0.9999999999997 was stored, and scored at threshold 1.0, as 1.0.
`py2_str` rounds the same way; without it AAPL scores 34 true-positive rows instead of the
published 42.

What it does not do: cover the other published detectors (HTM, CAD-OSE, skyline... are large or
depend on their own runtimes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special, stats


def _tail(x: float, mean: float, std: float) -> float:
    """P(X > x) for X ~ N(mean, std), mirrored below the mean (as NAB computes it)."""
    if x < mean:
        x = 2 * mean - x
    z = (x - mean) / std
    return 0.5 * math.erfc(z / math.sqrt(2))


def py2_str(score: float) -> float:
    """A score as NAB's Python 2 results files stored it: str() keeps 12 significant digits."""
    return float(f"{score:.12g}")


def windowed_gaussian(values: Sequence[float], window: int = 6400, step: int = 100) -> list[float]:
    data = np.asarray(values, dtype=float)
    scores: list[float] = []
    start = end = 0  # the fitted window is data[start:end]
    mean, std = 0.0, 1.0
    for i, value in enumerate(data.tolist()):
        scores.append(1 - _tail(value, mean, std) if end > start else 0.0)
        if end - start < window:
            end = i + 1
        elif i + 1 - end == step:  # `step` new values buffered: slide forward by `step`
            start, end = start + step, i + 1
        else:
            continue
        fitted = data[start:end]
        mean = float(np.mean(fitted))
        std = float(np.std(fitted)) or 0.000001
    return scores


def relative_entropy(values: Sequence[float], *, bins: int = 5, width: int = 52) -> list[float]:
    low, high = min(values), max(values)
    step = (high - low) / bins
    limit = stats.chi2.isf(0.01, bins - 1)
    hypotheses = np.empty((0, bins))
    seen: list[int] = []
    scores = [0.0] * len(values)
    if step == 0:
        return scores
    quantised = [math.ceil((v - low) / step) for v in values]
    # The window's histogram, kept up to date as it slides: np.histogram(density=True) over unit
    # bins on [0, bins] (right edge in the last bin, values outside dropped) is count / in-range.
    counts = [0] * bins

    def slot(q: int) -> int | None:
        return min(q, bins - 1) if 0 <= q <= bins else None

    for i, q in enumerate(quantised):
        if (b := slot(q)) is not None:
            counts[b] += 1
        if i >= width and (b := slot(quantised[i - width])) is not None:
            counts[b] -= 1
        if i < width - 1:
            continue
        p_hat = np.array(counts, dtype=float) / float(sum(counts))
        if not seen:
            hypotheses = p_hat[None, :]
            seen.append(1)
            continue
        # scipy.stats.entropy(p_hat, p) for every hypothesis p at once: KL of the normalised pair.
        pk = p_hat / np.sum(p_hat)
        qk = hypotheses / np.sum(hypotheses, axis=1, keepdims=True)
        entropy = 2 * width * np.sum(special.rel_entr(pk, qk), axis=1)
        ok = np.flatnonzero(entropy < limit)
        if ok.size == 0:
            scores[i] = 1.0
            hypotheses = np.vstack([hypotheses, p_hat])
            seen.append(1)
        else:
            best = int(ok[np.argmin(entropy[ok])])
            seen[best] += 1
            if seen[best] <= 1:
                scores[i] = 1.0
    return scores


# name -> (per-row detector, how NAB's results files stored its scores)
REFERENCE = {
    "windowedGaussian": (windowed_gaussian, py2_str),
    "relativeEntropy": (relative_entropy, float),
}
