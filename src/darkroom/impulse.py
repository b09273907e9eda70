"""Salt-and-pepper noise: find the impulses and fill them in before a network sees the photo.

An impulse replaces a value by pure black or pure white.  A CNN sees it as a bright or dark
dot and smears it into its neighbours; a classical decision-based median filter simply
replaces every extreme value by the median of the values around it that are not extreme, and
leaves everything else alone.  That is exact where the impulses are, which is why ``median3``
beats every network on heavy impulse noise.

The fill is applied only to a photo that evidently carries impulse noise: at least
:data:`GATE` of its values must be evident impulses, extreme values that are

- lone: none of their 8 neighbours sits at the same end of the range;
- far from their neighbours: more than :data:`ISOLATED` from the median of the neighbours that
  are not extreme, and more than :data:`OUTLIER` times those neighbours' median absolute deviation.

A clean photo's blown-out sky, black shadow or saturated line is extreme but not lone, and
clipped Gaussian noise is extreme among neighbours as noisy as it is, so neither opens the
gate.  Once it is open every extreme value is filled; inside a saturated region that changes
nothing, as the region's values have no non-extreme neighbours or ones close to them.

All arrays are float32 ``(H, W, C)`` in [0, 1].
"""

from __future__ import annotations

import numpy as np

EXTREME = 0.5 / 255
"""A value within this of 0 or 1 counts as extreme (an 8-bit 0 or 255).  Values beyond [0, 1], as
unclipped Gaussian noise makes them, do not: impulses sit exactly on the ends of the range."""
ISOLATED = 0.3
"""How far (at least) an evident impulse lies from the median of its non-extreme neighbours."""
OUTLIER = 10.0
"""... and in units of those neighbours' median absolute deviation."""
GATE = 0.005
"""Share of all values that must be evident impulses before anything is filled."""
STRIP = 256
"""Rows processed at a time, which bounds the extra memory on large photos."""

_RING3 = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
_RING5 = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if max(abs(dy), abs(dx)) == 2]


def _nan_median(values: np.ndarray) -> np.ndarray:
    """Median of each row of ``(K, N)``, ignoring NaN; NaN where a row has none."""
    values = np.sort(values, axis=1)  # NaN sorts last
    n = np.sum(~np.isnan(values), axis=1)
    lo = np.take_along_axis(values, (np.maximum(n, 1)[:, None] - 1) // 2, axis=1)[:, 0]
    hi = np.take_along_axis(values, np.minimum(n // 2, values.shape[1] - 1)[:, None], axis=1)[:, 0]
    return np.where(n > 0, (lo + hi) / 2, np.float32(np.nan))


def _median_and_spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and median absolute deviation of each row of ``(K, N)``, ignoring NaN."""
    med = _nan_median(values)
    return med, _nan_median(np.abs(values - med[:, None]))


def _neighbour_stats(
    x: np.ndarray, extreme: np.ndarray, candidates: np.ndarray
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray, np.ndarray]:
    """For each value of ``x`` marked in ``candidates``: its index; the median and median absolute
    deviation of the values not marked ``extreme`` in its 3x3 neighbourhood or, where there are
    none, in its 5x5 one (NaN where that fails too); and whether none of its 8 neighbours shares
    its extreme (a lone dot, not part of a saturated region or line)."""
    where = np.nonzero(candidates)
    ys, xs, cs = where
    masked = np.where(extreme, np.float32(np.nan), x)
    padded = np.pad(masked, ((2, 2), (2, 2), (0, 0)), constant_values=np.nan)
    side = np.pad(np.where(extreme, np.sign(x - 0.5), 0).astype(np.int8), ((2, 2), (2, 2), (0, 0)))

    def ring(offsets: list[tuple[int, int]], idx: np.ndarray | slice, a: np.ndarray = padded) -> np.ndarray:
        return np.stack([a[ys[idx] + 2 + dy, xs[idx] + 2 + dx, cs[idx]] for dy, dx in offsets], axis=1)

    alone = ~np.any(ring(_RING3, slice(None), side) == side[ys + 2, xs + 2, cs][:, None], axis=1)
    med, spread = _median_and_spread(ring(_RING3, slice(None)))
    missing = np.flatnonzero(np.isnan(med))
    if missing.size:
        both = np.concatenate([ring(_RING3, missing), ring(_RING5, missing)], axis=1)
        med[missing], spread[missing] = _median_and_spread(both)
    return where, med, spread, alone


def fill_impulses(image: np.ndarray) -> np.ndarray:
    """Return ``image`` with salt-and-pepper impulses filled in, or ``image`` itself (the same
    object, untouched) when it shows no evident impulse noise (see the module docstring).

    ``image``: float32 ``(H, W, C)`` in [0, 1].  Each extreme value is replaced by the median of
    the non-extreme values around it (3x3, else 5x5); one with none around it stays.
    """
    x = np.asarray(image, np.float32)
    extreme = (np.abs(x) <= EXTREME) | (np.abs(x - 1) <= EXTREME)
    if extreme.mean() < GATE:  # cheap exit for the ordinary photo
        return image
    out = x.copy()
    evident = 0
    h = x.shape[0]
    for top in range(0, h, STRIP):
        lo, hi = max(0, top - 2), min(h, top + STRIP + 2)
        candidates = np.zeros_like(extreme[lo:hi])
        candidates[top - lo : top - lo + min(STRIP, h - top)] = extreme[top : top + STRIP]
        (ys, xs, cs), med, spread, alone = _neighbour_stats(x[lo:hi], extreme[lo:hi], candidates)
        known = ~np.isnan(med)
        jump = np.abs(x[lo:hi][ys, xs, cs] - med)[known]
        evident += int(np.count_nonzero(alone[known] & (jump > ISOLATED) & (jump > OUTLIER * spread[known])))
        out[lo:hi][ys[known], xs[known], cs[known]] = med[known]
    return out if evident >= GATE * x.size else image
