"""Draw the figure of the Training guide: docs/images/schedules.png, the rate of four schedules.

It makes each schedule as the figure's legend says, for an optimizer with lr 0.1, and plots the
rate it sets for each of 60 epochs (``lr_at``: the rates ``fit`` uses). It needs matplotlib:
``pip install ".[plot]"``. Run it from the repository root:

    python docs/scripts/schedules.py [OUTPUT.png]

and commit the PNG it writes (by default docs/images/schedules.png).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nnlite as nl

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "images" / "schedules.png"
EPOCHS = 60


def schedules() -> dict[str, nl.schedules.Schedule]:
    """The four schedules of the figure, each of its own optimizer (lr 0.1), by legend."""

    def optimizer() -> nl.optim.SGD:
        return nl.optim.SGD([nl.Parameter([0.0])], lr=0.1)

    return {
        "StepLR(step_size=15, gamma=0.5)": nl.schedules.StepLR(optimizer(), 15, gamma=0.5),
        "CosineAnnealingLR(T_max=60)": nl.schedules.CosineAnnealingLR(optimizer(), T_max=EPOCHS),
        "LinearLR(start_factor=0.1, total_iters=10)": nl.schedules.LinearLR(
            optimizer(), start_factor=0.1, total_iters=10
        ),
        "OneCycleLR(max_lr=0.1, total_steps=60)": nl.schedules.OneCycleLR(
            optimizer(), max_lr=0.1, total_steps=EPOCHS
        ),
    }


def main(argv: list[str]) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    figure, axes = plt.subplots(figsize=(9, 3.5))
    for label, schedule in schedules().items():
        axes.plot(range(EPOCHS), [schedule.lr_at(t) for t in range(EPOCHS)], label=label)
    axes.set_xlabel("epoch (for OneCycleLR, step)")
    axes.set_ylabel("learning rate")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figure.tight_layout()
    os.makedirs(output.parent, exist_ok=True)
    # No date or version in the file: the same schedules give the same bytes.
    figure.savefig(output, dpi=100, metadata={"Software": None})
    plt.close(figure)
    print(f"wrote {output}: {len(schedules())} schedules over {EPOCHS} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
