"""How much the protected columns would add to the Taiwan PD model (a ceiling check, never a model).

The Taiwan goal asks the monotone boosted model, which never sees sex, education, marital status
or age, for AUC >= 0.790. This script measures the same pipeline as ``credit_public.py`` (the
same features, grid, inner-fold tuning, early stopping and calibration; ``fit_gbdt``) twice on
each development split: with cartwise's inputs, and with the four demographic columns added as
free inputs. The second variant is what cartwise forbids: the protected-attribute guard matches
column names, and the columns enter here under the file's own codes (X2 sex, X3 education, X4
marital status, X5 age) so that the forbidden model can be measured. Nothing it fits is kept.

Development splits only (5-fold stratified CV, seeds 7 and 11 by default): the published split,
seed 42, is the benchmark's and is not used here.

    .venv/bin/python benchmarks/credit_taiwan_ceiling.py --data ../shared/datasets
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
from _results import DEFAULT_DATA, report
from cartwise.models.credit.features import CreditFeature
from cartwise.models.credit.public_data import CreditDataset, load_taiwan
from cartwise.models.metrics import roc_auc
from credit_public import fit_gbdt

DEMOGRAPHIC = {"X2": "sex", "X3": "education", "X4": "marital status", "X5": "age"}


def with_demographics(ds: CreditDataset, folder: Path) -> CreditDataset:
    """``ds`` plus the four demographic columns as free inputs (the variant cartwise forbids)."""
    raw = pd.read_csv(folder / "default_of_credit_card_clients.csv", usecols=list(DEMOGRAPHIC))
    X = ds.X.copy()
    features = list(ds.features)
    for column, meaning in DEMOGRAPHIC.items():
        X[column] = raw[column].to_numpy(dtype=np.float64)
        features.append(CreditFeature(column, 0, False, f"DEMO{column}", meaning))
    return CreditDataset(ds.name, X, ds.y, ds.protected, tuple(features))


def cv_auc(ds: CreditDataset, seed: int, nthread: int) -> list[float]:
    aucs = []
    for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=seed).split(ds.X, ds.y):
        model = fit_gbdt(ds, ds.X.iloc[train_idx], ds.y[train_idx], nthread)
        aucs.append(roc_auc(ds.y[test_idx], model.predict_proba(ds.X.iloc[test_idx])[:, 1]))
    return aucs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the shared datasets")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11], help="development split seeds")
    parser.add_argument("--nthread", type=int, default=1, choices=[1, 2])
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    folder = args.data / "taiwan-credit-default"
    cartwise_inputs = load_taiwan(folder)
    variants = {
        "cartwise inputs (no protected column)": cartwise_inputs,
        "plus sex, education, marital status, age (forbidden)": with_demographics(cartwise_inputs, folder),
    }
    rows: list[list[object]] = []
    means: dict[tuple[str, int], float] = {}
    for seed in args.seeds:
        for name, ds in variants.items():
            started = time.perf_counter()
            aucs = cv_auc(ds, seed, args.nthread)
            means[(name, seed)] = float(np.mean(aucs))
            rows.append(
                [
                    seed,
                    name,
                    len(ds.features),
                    means[(name, seed)],
                    float(np.std(aucs)),
                    time.perf_counter() - started,
                ]
            )
            print(f"seed {seed} · {name}: {np.round(aucs, 4).tolist()}", flush=True)
    plain, full = variants
    gains = ", ".join(f"seed {s}: {means[(full, s)] - means[(plain, s)]:+.4f}" for s in args.seeds)
    notes = (
        "Monotone boosted model of credit_public.py (same grid, inner-fold tuning and calibration), "
        f"5-fold stratified CV on development seeds. AUC gained by adding the protected columns: {gains}. "
        "The benchmark's goal for the model without them is 0.790."
    )
    command = f".venv/bin/python benchmarks/credit_taiwan_ceiling.py --data {args.data} --seeds {' '.join(map(str, args.seeds))} --nthread {args.nthread}"
    headers = ["seed", "inputs", "features", "AUC mean", "AUC sd", "seconds"]
    report(
        "Credit: Taiwan AUC with and without the protected columns",
        command,
        headers,
        rows,
        notes,
        append=not args.no_report,
    )


if __name__ == "__main__":
    main()
