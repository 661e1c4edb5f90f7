"""L2-regularised, weighted logistic regression with numpy (Newton's method), and the ordinal pair.

Small problems (hundreds to thousands of rows, a few hundred dimensions): Newton converges in a handful
of steps, each one linear solve, and needs no learning rate. The bias is not regularised.

    beta = fit_logistic(X, y, weights, l2=0.3)      # X (n, d), y in {0, 1}
    p = predict_logistic(beta, X)
    sonnet, opus = fit_ordinal(X, gold, weights, l2=0.3)   # gold in {0: local, 1: sonnet, 2: opus}
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def fit_logistic(X: F64, y: F64, weights: F64, *, l2: float, steps: int = 50, tol: float = 1e-8) -> F64:
    """Coefficients with the bias last: minimises weighted log-loss + ``l2/2 * |w|^2``."""
    Xb = np.hstack([X, np.ones((len(X), 1))])
    d = Xb.shape[1]
    ridge = l2 * np.eye(d)
    ridge[-1, -1] = 0.0
    beta = np.zeros(d)
    for _ in range(steps):
        p = _sigmoid(Xb @ beta)
        gradient = Xb.T @ (weights * (p - y)) + ridge @ beta
        curvature = weights * p * (1 - p)
        hessian = (Xb * curvature[:, None]).T @ Xb + ridge + 1e-9 * np.eye(d)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < tol:
            break
    return beta


def predict_logistic(beta: F64, X: F64) -> F64:
    return _sigmoid(X @ beta[:-1] + beta[-1])


def fit_ordinal(X: F64, gold: npt.NDArray[np.int64], weights: F64, *, l2: float) -> tuple[F64, F64]:
    """Two binary heads: tier >= sonnet, and tier = opus."""
    return (
        fit_logistic(X, (gold >= 1).astype(np.float64), weights, l2=l2),
        fit_logistic(X, (gold == 2).astype(np.float64), weights, l2=l2),
    )


def _sigmoid(z: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
