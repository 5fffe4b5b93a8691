"""A tiny, deterministic "training": logistic regression on made-up data, stdlib only.

It reads params.yaml, trains for a second or so, and writes metrics.json, which is all a
DVC experiment needs to be worth comparing.
"""

import json
import math
import random
from pathlib import Path

import yaml

params = yaml.safe_load(Path("params.yaml").read_text())
lr = params["train"]["lr"]
epochs = params["train"]["epochs"]
l2 = params["model"]["l2"]

rng = random.Random(params["seed"])
points = []
for _ in range(400):
    x = (rng.gauss(0, 1), rng.gauss(0, 1))
    label = 1 if x[0] + 0.5 * x[1] + rng.gauss(0, 0.7) > 0 else 0
    points.append((x, label))
train, test = points[:300], points[300:]

w = [0.0, 0.0]
b = 0.0
for _ in range(epochs):
    for (x0, x1), y in train:
        p = 1 / (1 + math.exp(-(w[0] * x0 + w[1] * x1 + b)))
        w[0] -= lr * ((p - y) * x0 + l2 * w[0])
        w[1] -= lr * ((p - y) * x1 + l2 * w[1])
        b -= lr * (p - y)


def predict(x):
    return 1 / (1 + math.exp(-(w[0] * x[0] + w[1] * x[1] + b)))


accuracy = sum((predict(x) > 0.5) == bool(y) for x, y in test) / len(test)
loss = -sum(math.log(max(1e-9, predict(x) if y else 1 - predict(x))) for x, y in test) / len(test)
metrics = {"accuracy": round(accuracy, 4), "loss": round(loss, 4)}
Path("metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
