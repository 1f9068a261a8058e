"""NumPy benchmark objectives, written from their mathematics, each with a hand-written
reverse-mode gradient of the same computation.

The objectives use the NumPy functions autograd and JAX also provide (``np`` is swapped for
theirs to time them), so every tool differentiates the same source.
"""

import numpy as np


# -- logistic regression: mean log-loss of a linear model, labels in {-1, 1} -------------
def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, -y * z))


def logistic_by_hand(w, X, y):
    z = X @ w
    margin = -y * z
    sigma = 1.0 / (1.0 + np.exp(-margin))      # d logaddexp(0, m) / dm
    return X.T @ (sigma * -y) / X.shape[0]


# -- a two-layer network: tanh hidden layer, mean squared error -------------------------
def network(W1, b1, W2, b2, X, y):
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    return np.mean((prediction - y) ** 2)


def network_by_hand(W1, b1, W2, b2, X, y):
    hidden = np.tanh(X @ W1 + b1)
    prediction = hidden @ W2 + b2
    d_prediction = 2.0 * (prediction - y) / y.shape[0]
    d_b2 = np.sum(d_prediction)
    d_W2 = hidden.T @ d_prediction
    d_pre = np.outer(d_prediction, W2) * (1.0 - hidden ** 2)
    return X.T @ d_pre, np.sum(d_pre, axis=0), d_W2, d_b2


# -- Gaussian mixture (ADBench-style: d=10, K=10, n=1000, diagonal covariances) ------------
def gmm(alphas, means, log_sigmas, X):
    """Negative log-likelihood of X under a K-component mixture with weights softmax(alphas)
    and diagonal standard deviations exp(log_sigmas); log-sum-exp written out."""
    top = np.max(alphas)
    log_weights = alphas - (np.log(np.sum(np.exp(alphas - top))) + top)
    scaled = (X[:, None, :] - means[None, :, :]) * np.exp(-log_sigmas)[None, :, :]
    log_density = log_weights - np.sum(log_sigmas, axis=1) - 0.5 * np.sum(scaled ** 2, axis=2)
    peak = np.max(log_density, axis=1, keepdims=True)
    per_point = np.log(np.sum(np.exp(log_density - peak), axis=1)) + peak[:, 0]
    return -np.sum(per_point) + 0.5 * X.shape[0] * X.shape[1] * np.log(2 * np.pi)


def gmm_by_hand(alphas, means, log_sigmas, X):
    n = X.shape[0]
    weights = np.exp(alphas - np.max(alphas))
    weights /= np.sum(weights)
    inverse = np.exp(-log_sigmas)
    difference = X[:, None, :] - means[None, :, :]
    scaled = difference * inverse[None, :, :]
    log_density = np.log(weights) - np.sum(log_sigmas, axis=1) - 0.5 * np.sum(scaled ** 2, axis=2)
    responsibility = np.exp(log_density - np.max(log_density, axis=1, keepdims=True))
    responsibility /= np.sum(responsibility, axis=1, keepdims=True)     # n × K
    d_alphas = -(np.sum(responsibility, axis=0) - n * weights)
    d_means = -np.einsum("ik,ikj->kj", responsibility, scaled * inverse[None, :, :])
    d_log_sigmas = -np.einsum("ik,ikj->kj", responsibility, scaled ** 2 - 1.0)
    return d_alphas, d_means, d_log_sigmas


# -- bundle adjustment: reprojection error (Rodrigues rotation, radial distortion) ---------
def bundle(cameras, points, camera_index, point_index, features):
    """Sum of squared reprojection errors. A camera is 11 numbers: rotation (axis-angle),
    centre, focal length, principal point, two radial distortion coefficients."""
    C = cameras[camera_index]
    P = points[point_index]
    rotation = C[:, 0:3]
    theta = np.sqrt(np.sum(rotation * rotation, axis=1))
    axis = rotation / theta[:, None]
    relative = P - C[:, 3:6]
    cos, sin = np.cos(theta), np.sin(theta)
    along = np.sum(axis * relative, axis=1)
    rotated = (relative * cos[:, None] + np.cross(axis, relative) * sin[:, None]
               + axis * (along * (1.0 - cos))[:, None])
    projected = -rotated[:, 0:2] / rotated[:, 2:3]
    radius2 = np.sum(projected * projected, axis=1)
    distortion = 1.0 + C[:, 9] * radius2 + C[:, 10] * radius2 * radius2
    predicted = C[:, 6:7] * projected * distortion[:, None] + C[:, 7:9]
    return np.sum((predicted - features) ** 2)


def bundle_by_hand(cameras, points, camera_index, point_index, features):
    C = cameras[camera_index]
    P = points[point_index]
    rotation = C[:, 0:3]
    theta = np.sqrt(np.sum(rotation * rotation, axis=1))
    axis = rotation / theta[:, None]
    relative = P - C[:, 3:6]
    cos, sin = np.cos(theta), np.sin(theta)
    along = np.sum(axis * relative, axis=1)
    crossed = np.cross(axis, relative)
    rotated = relative * cos[:, None] + crossed * sin[:, None] + axis * (along * (1.0 - cos))[:, None]
    projected = -rotated[:, 0:2] / rotated[:, 2:3]
    radius2 = np.sum(projected * projected, axis=1)
    k1, k2, focal = C[:, 9], C[:, 10], C[:, 6:7]
    distortion = 1.0 + k1 * radius2 + k2 * radius2 * radius2
    predicted = focal * projected * distortion[:, None] + C[:, 7:9]
    # backward
    d_predicted = 2.0 * (predicted - features)
    d_C = np.zeros_like(C)
    d_C[:, 7:9] = d_predicted
    d_C[:, 6] = np.sum(d_predicted * projected * distortion[:, None], axis=1)
    d_projected = d_predicted * focal * distortion[:, None]
    d_distortion = np.sum(d_predicted * focal * projected, axis=1)
    d_C[:, 9] = d_distortion * radius2
    d_C[:, 10] = d_distortion * radius2 * radius2
    d_projected += (2.0 * (k1 + 2.0 * k2 * radius2) * d_distortion)[:, None] * projected
    d_rotated = np.empty_like(rotated)
    d_rotated[:, 0:2] = -d_projected / rotated[:, 2:3]
    d_rotated[:, 2] = np.sum(d_projected * rotated[:, 0:2], axis=1) / rotated[:, 2] ** 2
    d_relative = d_rotated * cos[:, None]
    d_along = np.sum(d_rotated * axis, axis=1) * (1.0 - cos)
    d_cos = np.sum(d_rotated * relative, axis=1) - np.sum(d_rotated * axis, axis=1) * along
    d_sin = np.sum(d_rotated * crossed, axis=1)
    d_crossed = d_rotated * sin[:, None]
    d_axis = d_rotated * (along * (1.0 - cos))[:, None] + d_along[:, None] * relative
    d_relative += d_along[:, None] * axis
    d_axis += np.cross(relative, d_crossed)
    d_relative += np.cross(d_crossed, axis)
    d_theta = -sin * d_cos + cos * d_sin - np.sum(d_axis * rotation, axis=1) / theta ** 2
    d_C[:, 0:3] = d_axis / theta[:, None] + (d_theta / theta)[:, None] * rotation
    d_C[:, 3:6] = -d_relative
    d_cameras = np.zeros_like(cameras)
    np.add.at(d_cameras, camera_index, d_C)
    d_points = np.zeros_like(points)
    np.add.at(d_points, point_index, d_relative)
    return d_cameras, d_points


def points(seed=0):
    """The arguments of each program (deterministic)."""
    rng = np.random.default_rng(seed)
    n, d = 1000, 10
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) > 0, 1.0, -1.0)
    logistic_args = (0.1 * rng.normal(size=d), X, y)
    Xn = rng.uniform(-1.0, 1.0, size=(256, 2))
    network_args = (rng.normal(size=(2, 32)), np.zeros(32), rng.normal(size=32) / 6.0, 0.1,
                    Xn, np.sin(3 * Xn[:, 0]) + Xn[:, 1] ** 2)
    K = 10
    gmm_args = (rng.normal(size=K), rng.normal(size=(K, d)), 0.1 * rng.normal(size=(K, d)),
                rng.normal(size=(n, d)))
    n_cameras, n_points, n_observations = 20, 300, 1000
    cameras = np.concatenate([
        rng.uniform(0.1, 0.5, size=(n_cameras, 3)),             # rotation, away from 0
        rng.normal(scale=0.1, size=(n_cameras, 3)) - [0, 0, 6],  # centres behind the points
        rng.uniform(400, 600, size=(n_cameras, 1)),              # focal length
        rng.normal(scale=5.0, size=(n_cameras, 2)),              # principal point
        rng.normal(scale=1e-3, size=(n_cameras, 2))], axis=1)    # radial distortion
    bundle_args = (cameras, rng.normal(size=(n_points, 3)),
                   rng.integers(0, n_cameras, n_observations),
                   rng.integers(0, n_points, n_observations),
                   rng.normal(scale=50.0, size=(n_observations, 2)))
    return {"logistic": logistic_args, "network": network_args, "gmm": gmm_args,
            "bundle": bundle_args}


def numpy_programs():
    """(name, primal, hand-written gradient, arguments, wrt) for each NumPy program."""
    args = points()
    return [
        ("logistic regression (n=1000, d=10)", logistic, logistic_by_hand, args["logistic"], (0,)),
        ("two-layer network (256 × 2 → 32 → 1)", network, network_by_hand, args["network"], (0, 1, 2, 3)),
        ("Gaussian mixture (d=10, K=10, n=1000)", gmm, gmm_by_hand, args["gmm"], (0, 1, 2)),
        ("bundle adjustment (1000 observations)", bundle, bundle_by_hand, args["bundle"], (0, 1)),
    ]
