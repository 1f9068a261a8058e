"""A parameter sweep of srcdiff gradients on a Dask cluster.

How far does a ball thrown at an angle fly when air drag slows it, and how does the
distance change with the angle and with the drag? The distance is a loop (Euler steps
until the ball is back on the ground); its gradient with respect to the angle and the
drag is evaluated on a grid of 20 angles × 10 drag coefficients: 200 independent calls
that Dask spreads over worker processes. Where ∂distance/∂angle changes sign between two
angles of the grid lies the best angle for that drag: 45° without drag, lower with it.

To Dask, `srcdiff.value_and_grad(distance, ...)` is an ordinary function: it pickles by
reference (the module and name of `distance`, and `wrt`), and each worker imports that
module and generates the gradient's code itself at its first call. Nothing else is sent.

Here the cluster is local: `LocalCluster(n_workers=2, threads_per_worker=1)` starts a
scheduler and two worker processes on this machine. The same code runs on a cluster of
many machines. Start a scheduler on one machine and workers on the others:

    dask scheduler                          # listens on port 8786
    dask worker scheduler-address:8786      # on each worker machine

with the same packages installed everywhere (srcdiff, NumPy, dask[distributed]), and
connect with `client = Client("scheduler-address:8786")` instead of
`Client(LocalCluster(...))`; the rest is unchanged. Workers must be able to import the
module that defines the differentiated function: here it is this script, which a local
worker imports again when it starts (under `if __name__ == "__main__"`, as Dask and
multiprocessing require of scripts); on a real cluster put the function in a module
installed on every worker, or send it with `client.upload_file("model.py")`.

Run: python examples/dask_sweep.py   (needs pip install 'dask[distributed]')
"""

import logging
import math

import srcdiff

GRAVITY = 9.81


def distance(speed, angle, drag):
    """Where the ball lands, thrown from the ground at ``speed`` and ``angle``."""
    x, y = 0.0, 0.0
    vx, vy = speed * math.cos(angle), speed * math.sin(angle)
    dt = 0.005
    while y >= 0.0:
        v = math.hypot(vx, vy)
        vx = vx - dt * drag * v * vx
        vy = vy - dt * (GRAVITY + drag * v * vy)
        x = x + dt * vx
        y = y + dt * vy
    return x - y * vx / vy  # back along the last step to y = 0: no jump between steps


sweep = srcdiff.value_and_grad(distance, wrt=("angle", "drag"))

SPEED = 20.0
ANGLES = [math.radians(20 + 2.5 * i) for i in range(20)]  # 20° to 67.5°
DRAGS = [0.005 * j for j in range(10)]                    # 0 to 0.045 per metre
GRID = [(SPEED, angle, drag) for drag in DRAGS for angle in ANGLES]


def best_angles(results):
    """For each drag, the angle where ∂distance/∂angle crosses zero (interpolated)."""
    best = {}
    for j, drag in enumerate(DRAGS):
        slopes = [results[j * len(ANGLES) + i][1][0] for i in range(len(ANGLES))]
        for i in range(len(ANGLES) - 1):
            if slopes[i] > 0 >= slopes[i + 1]:
                t = slopes[i] / (slopes[i] - slopes[i + 1])
                best[drag] = math.degrees(ANGLES[i] + t * (ANGLES[i + 1] - ANGLES[i]))
    return best


def main(n_workers=2):
    from distributed import Client, LocalCluster
    print(srcdiff.source(sweep))
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:  # on many machines: Client("scheduler-address:8786")
        futures = client.map(sweep, *zip(*GRID))
        results = client.gather(futures)
    serial = [sweep(*point) for point in GRID]
    print(f"{len(results)} gradients on {n_workers} worker processes; equal to the "
          f"serial ones: {results == serial}")
    print("drag    distance at 45°   ∂/∂angle   ∂/∂drag   best angle")
    at_45 = ANGLES.index(math.radians(45.0))
    best = best_angles(results)
    for j, drag in enumerate(DRAGS):
        value, (d_angle, d_drag) = results[j * len(ANGLES) + at_45]
        print(f"{drag:5.3f}   {value:10.3f} m    {d_angle:9.3f}  {d_drag:9.1f}   "
              f"{best[drag]:6.2f}°")
    return results, serial, best


if __name__ == "__main__":
    main()
