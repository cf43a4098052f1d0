"""Score calibration: Platt and isotonic fits, the held-out choice, plain-JSON state."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from cartwise.errors import MetricInputError, ModelBundleError, NotFittedError
from cartwise.models.calibration import ScoreCalibrator, logit


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def sigmoid_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    s = rng.uniform(0.01, 0.99, 20_000)
    y = (rng.uniform(size=s.size) < _sigmoid(2.0 * logit(s) - 1.0)).astype(int)
    return s, y


def test_platt_recovers_known_coefficients(sigmoid_data: tuple[np.ndarray, np.ndarray]) -> None:
    s, y = sigmoid_data
    cal = ScoreCalibrator("platt").fit(s, y)
    a, b = cal.platt_
    assert a == pytest.approx(2.0, abs=0.1)
    assert b == pytest.approx(-1.0, abs=0.1)


def test_isotonic_matches_scikit_learn(sigmoid_data: tuple[np.ndarray, np.ndarray]) -> None:
    s, y = sigmoid_data
    cal = ScoreCalibrator("isotonic").fit(s, y)
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y)
    probe = np.linspace(-0.1, 1.1, 301).clip(0, 1)
    np.testing.assert_allclose(cal.transform(probe), ref.predict(probe), atol=1.01e-6)


def test_isotonic_keeps_the_ranking_of_the_raw_scores(sigmoid_data: tuple[np.ndarray, np.ndarray]) -> None:
    s, y = sigmoid_data
    cal = ScoreCalibrator("isotonic").fit(s, y)
    probe = np.sort(np.random.default_rng(5).uniform(0, 1, 5000))
    p = cal.transform(probe)
    assert np.all(np.diff(p) > 0)  # flat isotonic steps would tie these
    assert p.min() >= 0
    assert p.max() <= 1


def test_auto_picks_isotonic_for_a_step_and_platt_for_a_sigmoid(
    sigmoid_data: tuple[np.ndarray, np.ndarray],
) -> None:
    rng = np.random.default_rng(1)
    s = rng.uniform(0, 1, 20_000)
    y = (rng.uniform(size=s.size) < np.where(s < 0.5, 0.02, 0.9)).astype(int)
    assert ScoreCalibrator("auto").fit(s, y).method_ == "isotonic"
    small_s, small_y = sigmoid_data[0][:400], sigmoid_data[1][:400]
    chosen = ScoreCalibrator("auto", criterion="log_loss").fit(small_s, small_y)
    assert chosen.method_ == "platt"
    assert set(chosen.holdout_scores_) == {"platt", "isotonic"}


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_state_round_trips_through_json(method: str, sigmoid_data: tuple[np.ndarray, np.ndarray]) -> None:
    s, y = sigmoid_data
    cal = ScoreCalibrator(method).fit(s, y)  # type: ignore[arg-type]
    again = ScoreCalibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    np.testing.assert_array_equal(again.transform(s[:500]), cal.transform(s[:500]))
    one_by_one = [again.transform_one(float(x)) for x in s[:200]]
    np.testing.assert_allclose(one_by_one, cal.transform(s[:200]), rtol=0, atol=1e-12)


def test_errors_say_what_to_do() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        ScoreCalibrator().transform([0.5])
    with pytest.raises(MetricInputError, match="both classes"):
        ScoreCalibrator().fit([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0])
    with pytest.raises(MetricInputError, match="unknown"):
        ScoreCalibrator("beta").fit([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])  # type: ignore[arg-type]
    with pytest.raises(ModelBundleError, match="malformed"):
        ScoreCalibrator.from_dict({"method": "platt"})
