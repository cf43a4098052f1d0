"""The decision service on small real models, the real Redis and a real decision-log file.

The fraud model is cartwise's own FraudModel bundle (XGBoost + ONNX + policy + TreeSHAP
reasons) trained here on synthetic data. Credit and recommendations use small
scikit-learn/numpy models written against the service's ports, so these tests do not
depend on the credit and recs trainers; their real adapters are tested in
tests/unit/test_serving_adapters.py.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from cartwise.decisions.credit_policy import PlanTerms
from cartwise.errors import RegistryError
from cartwise.serving.adapters import FraudBundleScorer
from cartwise.serving.app import ServiceComponents, create_app
from cartwise.serving.decision_log import SqliteDecisionLog
from cartwise.serving.features import CircuitBreaker, RedisHashReader
from cartwise.serving.ports import CreditResult, LoadedModel, PlanOffer, ProductHit, ReasonCode
from cartwise.serving.security import ApiKey, KeyRing, hash_key
from cartwise.serving.settings import ServiceSettings

REDIS_TEST_URL = "redis://127.0.0.1:6379/14"
CUSTOMER_FIELDS = ("customer_orders_30d", "customer_amount_mean_30d", "customer_late_share")
MERCHANT_FIELDS = ("merchant_chargeback_rate_30d",)
DEVICE_FIELDS = ("device_customers_7d",)
FRAUD_FEATURES = (
    "amount_minor",
    "n_items",
    "customer_orders_30d",
    "device_customers_7d",
    "merchant_chargeback_rate_30d",
)
CREDIT_FEATURES = ("amount_minor", "customer_orders_30d", "customer_late_share")

KEYS = {
    "all": "cw_test_all_" + "a" * 20,
    "decisions": "cw_test_dec_" + "b" * 20,
    "recs": "cw_test_rec_" + "c" * 20,
    "slow": "cw_test_slow_" + "d" * 20,
}


def keyring() -> KeyRing:
    return KeyRing(
        [
            ApiKey("all", hash_key(KEYS["all"]), frozenset({"admin"})),
            ApiKey("checkout", hash_key(KEYS["decisions"]), frozenset({"decisions"})),
            ApiKey("web", hash_key(KEYS["recs"]), frozenset({"recommendations"})),
            ApiKey("limited", hash_key(KEYS["slow"]), frozenset({"decisions"}), rate_per_second=1.0, burst=2),
        ]
    )


def _fraud_frame(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    X = pd.DataFrame(
        {
            "amount_minor": rng.lognormal(8.5, 1.0, n),
            "n_items": rng.integers(1, 6, n).astype(float),
            "customer_orders_30d": rng.poisson(3, n).astype(float),
            "device_customers_7d": rng.poisson(1, n).astype(float) + 1,
            "merchant_chargeback_rate_30d": rng.beta(1, 60, n),
        }
    )
    logit = (
        -4
        + 0.8 * (X["device_customers_7d"] - 1)
        + 0.0002 * X["amount_minor"]
        - 0.3 * X["customer_orders_30d"]
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


@pytest.fixture(scope="session")
def fraud_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real fraud bundle (FraudModel + FraudPolicy) trained on 3,000 synthetic orders."""
    from cartwise.decisions.fraud_policy import FraudPolicy
    from cartwise.models.fraud import FraudModel

    rng = np.random.default_rng(0)
    X, y = _fraud_frame(rng, 3000)
    model = FraudModel(n_estimators=30, max_depth=3, n_jobs=1, calibration="platt").fit(X, y)
    # About 10 % of the synthetic orders are fraud, so an ordinary order scores about 0.1; these
    # ratios approve it (expected loss up to 3x the margin) and decline the risky ones, so the
    # tests see every outcome.
    policy = FraudPolicy(decline_ratio=5.0, review_ratio=3.0)
    return Path(model.to_bundle(tmp_path_factory.mktemp("fraud") / "bundle", policy=policy))


class TinyCredit:
    """A logistic-regression PD model with a simple limit rule (the CreditScorer port)."""

    def __init__(self, seed: int = 0, shift: float = 0.0) -> None:
        rng = np.random.default_rng(seed)
        n = 2000
        X = np.column_stack([rng.lognormal(8.5, 1.0, n), rng.poisson(3, n), rng.beta(1, 8, n)])
        X[:, 0] = np.minimum(X[:, 0], 200_000)
        logit = -3 + 0.0001 * X[:, 0] - 0.2 * X[:, 1] + 5 * X[:, 2] + shift
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        self.model = LogisticRegression(max_iter=500).fit(X, y)
        self.coef = self.model.coef_[0]
        self.intercept = float(self.model.intercept_[0])
        self.means = X.mean(axis=0)

    def _x(self, features: Mapping[str, Any]) -> np.ndarray:
        return np.array(
            [
                self.means[i]
                if (v := features.get(f)) is None or (isinstance(v, float) and math.isnan(v))
                else v
                for i, f in enumerate(CREDIT_FEATURES)
            ],
            dtype=float,
        )

    def score(self, features: Mapping[str, Any]) -> float:
        z = self.intercept + float(self._x(features) @ self.coef)
        return 1 / (1 + math.exp(-z))

    def decide(self, features: Mapping[str, Any], amount_minor: int, plan_type: str) -> CreditResult:
        p = self.score(features)
        limit = int(min(250_000, 2_000 / max(p, 1e-3)))
        plans = (("pay_in_4", 4), ("pay_monthly_6", 6))
        if amount_minor <= limit and p < 0.3:
            return CreditResult(
                "approve",
                p,
                limit,
                tuple(
                    PlanOffer(name, n, schedule[0], 0, 0.0, schedule)
                    for name, n in plans
                    for schedule in (PlanTerms(name, n, 30, 1.0, 1.0).installment_amounts(amount_minor),)
                ),
            )
        contrib = (self._x(features) - self.means) * self.coef
        worst = int(np.argmax(contrib))
        return CreditResult(
            "decline",
            p,
            limit,
            (),
            (ReasonCode(f"C{worst:02d}", f"{CREDIT_FEATURES[worst]} contributed most to the risk"),),
        )


class TinyRecs:
    """Popularity with a per-customer rotation, prices and titles (the Recommender port)."""

    def __init__(self, n_products: int = 200, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.popularity = rng.random(n_products)
        self.prices = rng.integers(500, 100_000, n_products)
        self.order = np.argsort(-self.popularity)

    def recommend(self, customer_id: int, k: int, *, max_price_minor: int | None = None) -> list[ProductHit]:
        hits = []
        for i in np.roll(self.order, customer_id % 7):
            price = int(self.prices[i])
            if max_price_minor is not None and price > max_price_minor:
                continue
            hits.append(ProductHit(int(i) + 1, float(self.popularity[i]), price, f"product {i + 1}"))
            if len(hits) == k:
                break
        return hits

    def search(self, query: str, k: int) -> list[ProductHit]:
        scores = np.array(
            [len(set(query.lower()) & set(f"product {i}")) for i in range(len(self.prices))], float
        )
        top = np.argsort(-scores)[:k]
        return [ProductHit(int(i) + 1, float(scores[i]), int(self.prices[i])) for i in top]


@dataclass
class MemoryModelSource:
    """A ModelSource kept in memory, standing in for the registry (which has its own tests)."""

    models: dict[tuple[str, str], LoadedModel] = field(default_factory=dict)
    unreachable: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, loaded: LoadedModel, alias: str = "champion") -> None:
        with self.lock:
            self.models[(loaded.name, alias)] = loaded

    def version_of(self, model: str, alias: str) -> str | None:
        if self.unreachable:
            raise RegistryError("registry unreachable")
        found = self.models.get((model, alias))
        return None if found is None else found.version

    def load(self, model: str, alias: str) -> LoadedModel:
        if self.unreachable:
            raise RegistryError("could not reach the MLflow registry at http://127.0.0.1:1")
        try:
            return self.models[(model, alias)]
        except KeyError:
            raise RegistryError(f"model {model!r} has no {alias!r} alias") from None


@pytest.fixture(scope="session")
def fraud_scorer(fraud_bundle_dir: Path) -> FraudBundleScorer:
    from cartwise.models.fraud.bundle import load_bundle

    return FraudBundleScorer(load_bundle(fraud_bundle_dir))


@pytest.fixture(scope="session")
def tiny_credit() -> TinyCredit:
    return TinyCredit()


@pytest.fixture
def model_source(fraud_scorer: FraudBundleScorer, tiny_credit: TinyCredit) -> MemoryModelSource:
    source = MemoryModelSource()
    source.put(LoadedModel("fraud", "1", fraud_scorer, trained_at=1_700_000_000.0))
    source.put(LoadedModel("credit", "1", tiny_credit))
    source.put(LoadedModel("recs", "1", TinyRecs()))
    return source


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test session in Redis db 14, with a few entities written; deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL}: {exc}")
    prefix = f"cwtest:{uuid.uuid4().hex[:8]}"
    reader = RedisHashReader(REDIS_TEST_URL, key_prefix=prefix, customer_fields=CUSTOMER_FIELDS)
    for customer in range(1, 51):
        reader.write(
            "customer",
            customer,
            {
                "customer_orders_30d": customer % 9,
                "customer_amount_mean_30d": 5000 + customer,
                "customer_late_share": 0.05,
            },
        )
    for merchant in range(1, 11):
        reader.write("merchant", merchant, {"merchant_chargeback_rate_30d": 0.01 * (merchant % 3)})
    reader.write("device", "dev-shared", {"device_customers_7d": 12})
    reader.close()
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def make_reader(prefix: str, url: str = REDIS_TEST_URL, **kwargs: Any) -> CircuitBreaker:
    reader = RedisHashReader(
        url,
        key_prefix=prefix,
        customer_fields=CUSTOMER_FIELDS,
        merchant_fields=MERCHANT_FIELDS,
        device_fields=DEVICE_FIELDS,
        timeout_seconds=0.05,
    )
    return CircuitBreaker(reader, **kwargs)


@dataclass
class Service:
    client: TestClient
    source: MemoryModelSource
    log: SqliteDecisionLog
    app: Any


@pytest.fixture
def make_service(tmp_path: Path, model_source: MemoryModelSource, redis_prefix: str) -> Iterator[Any]:
    started: list[TestClient] = []

    def build(
        settings: ServiceSettings | None = None,
        *,
        redis_url: str = REDIS_TEST_URL,
        source: MemoryModelSource | None = None,
    ) -> Service:
        log = SqliteDecisionLog(tmp_path / f"log-{len(started)}.sqlite")
        components = ServiceComponents(
            models=source or model_source,
            features=make_reader(redis_prefix, redis_url),
            decision_log=log,
            keys=keyring(),
        )
        app = create_app(settings or ServiceSettings(poll_seconds=0), components)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        started.append(client)
        return Service(client, source or model_source, log, app)

    yield build
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def service(make_service: Any) -> Service:
    return make_service()


def checkout(checkout_id: int = 1001, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "checkout_id": checkout_id,
        "customer_id": 7,
        "merchant_id": 2,
        "amount_minor": 12_999,
        "currency": "USD",
        "items": [{"product_id": 3, "quantity": 1, "unit_price_minor": 12_999}],
        "device": {"device_id": "dev-7", "ip_country": "US"},
        "payment_instrument": {"type": "card", "fingerprint": "fp-secret-7", "country": "US"},
        "plan_type": "pay_in_4",
    }
    body.update(overrides)
    return body


def headers(kind: str = "all") -> dict[str, str]:
    return {"X-API-Key": KEYS[kind]}
