"""Adapters from the service's ports to cartwise's own models, registry and feature catalog.

* :class:`FraudBundleScorer` — :class:`cartwise.models.fraud.FraudBundle` (ONNX scorer,
  cost-based policy, TreeSHAP reason codes).
* :class:`CreditBundleScorer` — :class:`cartwise.models.credit.CreditBundle` (monotone
  PD model or scorecard, credit policy, adverse-action reasons).
* :class:`RecsBundleRecommender` — :class:`cartwise.models.recs.RecsBundle`, filtered to
  products the shopper can afford, plus semantic search when the bundle holds embeddings.
* :class:`RegistryModelSource` — champions and challengers from the MLflow registry
  (bundles cached under the data dir, so a restart works while the registry is down).
* :func:`catalog_request_features` — the catalog's request-time features, the same
  functions the offline training frames use.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cartwise.errors import ModelBundleError, RegistryError
from cartwise.models.contributions import RowContributions
from cartwise.serving.ports import CheckoutFacts, CreditResult, LoadedModel, PlanOffer, ProductHit, ReasonCode

__all__ = [
    "CreditBundleScorer",
    "FraudBundleScorer",
    "RecsBundleRecommender",
    "RegistryModelSource",
    "catalog_request_features",
    "catalog_request_features_many",
    "load_model_dir",
]

logger = logging.getLogger(__name__)

_PLAN_SHAPE = {
    "pay_in_4": (4, 14),
    "pay_monthly_3": (3, 30),
    "pay_monthly_6": (6, 30),
    "pay_monthly_12": (12, 30),
}


def catalog_request_features(
    facts: CheckoutFacts, online: Mapping[str, float | None]
) -> dict[str, float | None]:
    """The feature catalog's request-time features for one checkout (NaN inputs when history is missing)."""
    return catalog_request_features_many([facts], [online])[0]


def catalog_request_features_many(
    facts: Sequence[CheckoutFacts], online: Sequence[Mapping[str, float | None]]
) -> list[dict[str, float | None]]:
    """:func:`catalog_request_features` for several checkouts, one numpy call per function."""
    from cartwise.features.definitions import FEATURE_TIME

    row = _catalog_row()
    envs: list[dict[str, Any]] = []
    for one, values in zip(facts, online, strict=True):
        n_installments, interval = _PLAN_SHAPE.get(one.plan_type, (4, 14))
        env: dict[str, Any] = {name: values.get(name) for name in row.feature_inputs}
        env["amount_minor"] = float(one.amount_minor)
        env[FEATURE_TIME] = one.at_us
        env["n_installments"] = float(n_installments)
        env["installment_interval_days"] = float(interval)
        envs.append(env)
    return row.evaluate.many(envs)


class _CatalogRow:
    """The catalog's request-time features for one row, and the stored features they read.

    Derived features (of stored features only) are not recomputed: the online
    store's read already holds every one the served models need.
    """

    def __init__(self) -> None:
        from cartwise.features.catalog import CATALOG
        from cartwise.features.definitions import OnDemandRow

        request_time = [od for od in CATALOG.on_demand if od.request_inputs]
        self.evaluate = OnDemandRow(request_time)
        produced = {od.name for od in request_time}
        self.feature_inputs = sorted({name for od in request_time for name in od.feature_inputs} - produced)


@functools.cache
def _catalog_row() -> _CatalogRow:
    return _CatalogRow()


def _feature_rows(
    names: Sequence[str], features: Sequence[Mapping[str, Any]]
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The float32 ``(len(features), len(names))`` array a model scores (a missing value is NaN)."""
    return np.asarray(
        [[np.nan if (v := one.get(f)) is None else v for f in names] for one in features], dtype=np.float32
    )


class FraudBundleScorer:
    """The fraud port on a :class:`~cartwise.models.fraud.FraudBundle`."""

    def __init__(self, bundle: Any) -> None:
        self.bundle = bundle
        self.feature_names = list(bundle.feature_names)
        self._policy = bundle.policy if bundle.policy_state is not None else None
        # ReasonCodes.explain's grouping as one matrix product (same codes, same order)
        codes = bundle.reason_codes
        self._codes = sorted(set(codes.feature_codes.values()))
        position = {c: i for i, c in enumerate(self._codes)}
        self._group = np.zeros((len(self.feature_names), len(self._codes)))
        for i, name in enumerate(self.feature_names):
            code = codes.feature_codes.get(name)
            if code is not None:
                self._group[i, position[code]] = 1.0
        self._code_rank = np.arange(len(self._codes))
        self._contributions = RowContributions(bundle.booster)

    def score(self, features: Mapping[str, Any]) -> float:
        score_row = getattr(self.bundle, "score_row", None)
        if score_row is not None:  # ONNX and scalar calibration: no per-call arrays
            return float(score_row(self._row(features)))
        raw = self.bundle.scorer.score_one(self._row(features))
        return float(self.bundle.calibrate(np.array([raw]))[0])

    def score_many(self, features: Sequence[Mapping[str, Any]]) -> list[float]:
        """:meth:`score` for several checkouts, in one call to the model."""
        if len(features) <= 1:
            return [self.score(one) for one in features]
        raw = self.bundle.scorer.score(_feature_rows(self.feature_names, features))
        one = getattr(self.bundle.calibrator, "transform_one", None)
        if one is not None:  # the single-checkout calibration, value by value: the same floats as score()
            return [float(one(v)) for v in raw.tolist()]
        return [float(v) for v in self.bundle.calibrate(raw)]

    def decide(self, fraud_score: float, amount_minor: int) -> str:
        if self._policy is None:
            raise ModelBundleError("the fraud bundle holds no policy; train it with a policy to serve it")
        return str(self._policy.decide_one(fraud_score, float(amount_minor)))

    def _row(self, features: Mapping[str, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        return _feature_rows(self.feature_names, [features])

    def reasons(self, features: Mapping[str, Any], top_n: int = 3) -> tuple[ReasonCode, ...]:
        """TreeSHAP reason codes, straight from the booster on one row (no frames on the hot path)."""
        n = len(self.feature_names)
        return self._top_codes(self._contributions(self._row(features))[:n] @ self._group, top_n)

    def reasons_many(
        self, features: Sequence[Mapping[str, Any]], top_n: int = 3
    ) -> list[tuple[ReasonCode, ...]]:
        """:meth:`reasons` for several checkouts, with one TreeSHAP call for all of them."""
        if len(features) <= 1:
            return [self.reasons(one, top_n) for one in features]
        n = len(self.feature_names)
        grouped = self._contributions.rows(_feature_rows(self.feature_names, features))[:, :n] @ self._group
        return [self._top_codes(row, top_n) for row in grouped]

    def _top_codes(self, grouped: np.ndarray[Any, Any], top_n: int) -> tuple[ReasonCode, ...]:
        order = np.lexsort((self._code_rank, -grouped))
        texts = self.bundle.reason_codes.texts
        return tuple(
            ReasonCode(self._codes[i], texts.get(self._codes[i], self._codes[i]))
            for i in order[:top_n]
            if grouped[i] > 0
        )


class CreditBundleScorer:
    """The credit port on a :class:`~cartwise.models.credit.CreditBundle`.

    A monotone GBDT on numeric features is scored with onnxruntime (converted once,
    at load) and the credit policy's vectorised rates and limits, one row per plan;
    other models (scorecards, categorical inputs) go through ``decide_credit``.
    Adverse-action reasons (TreeSHAP) are computed for declines only.
    """

    def __init__(self, bundle: Any, *, plan_feature: str | None = None) -> None:
        from cartwise.decisions.credit_policy import CreditPolicy

        self.bundle = bundle
        self.policy = CreditPolicy(bundle.policy)
        self.plan_feature = plan_feature or bundle.metadata.get("plan_feature")
        self.feature_names = list(bundle.model.feature_names_in_)
        self.categorical = {f.name for f in bundle.model.features_ if f.categorical}
        self.plans = tuple(bundle.policy.plans)
        self._onnx = None
        booster = getattr(bundle.model, "booster_", None)
        if booster is not None and not self.categorical:
            from cartwise.models.fraud.onnx_scorer import OnnxScorer, booster_to_onnx

            booster.set_param({"nthread": 1})
            self._onnx = OnnxScorer(
                booster_to_onnx(booster, len(self.feature_names)), len(self.feature_names)
            )
            self._plan_col = self.feature_names.index(self.plan_feature) if self.plan_feature else None
            self._plan_values = np.array([[p.n_installments] for p in self.plans], dtype=np.float32)
            self._calibrate_one = getattr(bundle.model.calibrator_, "transform_one", None)
            self._reason_setup()
            self._contributions = RowContributions(booster)
        self._closed_form()

    def _closed_form(self) -> None:
        """Per plan, the constants of CreditPolicy.rates / limits, so one applicant costs a few float ops."""
        prm = self.policy.params
        fee = prm.merchant_fee_rate
        self._terms = [
            (
                t.plan_type,
                fee * t.fee_multiplier,  # revenue rate
                prm.funding_cost_annual * t.exposure_fraction * t.duration_years / 2.0,
                t.exposure_fraction,
            )
            for t in self.plans
        ]

    def _plan_limits(self, pds: list[float]) -> tuple[list[bool], list[int]]:
        """CreditPolicy's qualification and limit per plan, for one applicant (same float operations)."""
        prm = self.policy.params
        qualifies: list[bool] = []
        limits: list[int] = []
        for (_, revenue, funding, exposure), p in zip(self._terms, pds, strict=True):
            el = p * prm.loss_given_default * exposure
            margin = revenue - funding - el
            raw = math.floor(prm.max_expected_loss_minor / el) if el > 0 else math.inf
            lim = min(raw, prm.max_limit_minor)
            limit = int(lim) if lim >= prm.min_limit_minor else 0
            limits.append(limit)
            qualifies.append(margin > 0 and el <= prm.risk_appetite and limit > 0)
        return qualifies, limits

    # -- fast path ----------------------------------------------------------------
    def _row(self, features: Mapping[str, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        return _feature_rows(self.feature_names, [features])

    def _pd(self, rows: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        assert self._onnx is not None
        if rows.shape[0] == 1 and self._calibrate_one is not None:
            p = float(self._calibrate_one(self._onnx.score_one(rows)))
            return np.array([min(max(p, 0.0), 1.0)])
        raw = self._onnx.score(rows)
        return np.clip(np.asarray(self.bundle.model.calibrator_.transform(raw), dtype=np.float64), 0.0, 1.0)

    def _pds(self, row: np.ndarray[Any, np.dtype[np.float32]]) -> list[float]:
        """PD per plan (the plan is a model input when ``plan_feature`` is set)."""
        if self._plan_col is None:
            return [float(self._pd(row)[0])] * len(self.plans)
        rows = np.repeat(row, len(self.plans), axis=0)
        rows[:, self._plan_col : self._plan_col + 1] = self._plan_values
        return [float(v) for v in self._pd(rows)]

    def limit(self, features: Mapping[str, Any]) -> int:
        """The applicant's credit limit across plans (minor units): PD and the closed-form policy, no reasons."""
        if self._onnx is None:
            return self.decide(features, 1, self.plans[0].plan_type).approved_limit_minor
        qualifies, limits = self._plan_limits(self._pds(self._row(features)))
        return max((lim if ok else 0) for ok, lim in zip(qualifies, limits, strict=True))

    def _fast_decide(self, features: Mapping[str, Any], amount_minor: int, plan_type: str) -> CreditResult:
        row = self._row(features)
        pds = self._pds(row)
        approved, limit, over_limit = self._rule(pds, amount_minor)
        reasons: tuple[ReasonCode, ...] = ()
        if not approved:
            reasons = self._select_reasons(self._contributions(row), over_limit=over_limit)
        return self._result(approved, plan_type, min(pds), limit, amount_minor, reasons)

    def _rule(self, pds: list[float], amount_minor: int) -> tuple[list[str], int, bool]:
        """CreditPolicy.decide's rule for one applicant, in plain floats: approved plans, limit, any qualifying."""
        qualifies, limits = self._plan_limits(pds)
        approved = [
            name
            for (name, *_), ok, lim in zip(self._terms, qualifies, limits, strict=True)
            if ok and lim >= amount_minor
        ]
        limit = max((lim if ok else 0) for ok, lim in zip(qualifies, limits, strict=True))
        return approved, limit, any(qualifies)

    def decide_many(
        self, features: Sequence[Mapping[str, Any]], amounts_minor: Sequence[int], plan_types: Sequence[str]
    ) -> list[CreditResult]:
        """:meth:`decide` for several applicants: one model call for their PDs, one for the declines' reasons."""
        if self._onnx is None or len(features) <= 1:
            return [
                self.decide(one, amount, plan)
                for one, amount, plan in zip(features, amounts_minor, plan_types, strict=True)
            ]
        rows = _feature_rows(self.feature_names, features)
        n_plans = len(self.plans)
        scored = rows
        if self._plan_col is not None:  # one row per applicant and plan, as _pds builds them
            scored = np.repeat(rows, n_plans, axis=0)
            scored[:, self._plan_col : self._plan_col + 1] = np.tile(self._plan_values, (len(features), 1))
        per_applicant = scored.shape[0] // len(features)
        if per_applicant == 1 and self._calibrate_one is not None:
            # _pd calibrates a single row value by value: the same floats here
            values = [min(max(self._calibrate_one(v), 0.0), 1.0) for v in self._onnx.score(scored).tolist()]
        else:
            values = self._pd(scored).tolist()
        if per_applicant == 1:
            pds = [[p] * n_plans for p in values]
        else:
            pds = [values[i * n_plans : (i + 1) * n_plans] for i in range(len(features))]
        rules = [self._rule(p, amount) for p, amount in zip(pds, amounts_minor, strict=True)]
        declined = [i for i, (approved, _, _) in enumerate(rules) if not approved]
        reasons: dict[int, tuple[ReasonCode, ...]] = {}
        if declined:
            contributions = self._contributions.rows(rows[declined])
            for i, values in zip(declined, contributions, strict=True):
                reasons[i] = self._select_reasons(values, over_limit=rules[i][2])
        return [
            self._result(approved, plan, min(p), limit, amount, reasons.get(i, ()))
            for i, ((approved, limit, _), p, amount, plan) in enumerate(
                zip(rules, pds, amounts_minor, plan_types, strict=True)
            )
        ]

    def _reason_setup(self) -> None:
        """select_reasons' eligible columns (declared, not protected), resolved once."""
        from cartwise.models.credit.features import PROTECTED_CREDIT_ATTRIBUTES, is_protected

        by_name = {f.name: f for f in self.bundle.model.features_}
        self._reason_cols = np.array(
            [
                i
                for i, name in enumerate(self.feature_names)
                if name in by_name and not is_protected(name, tuple(PROTECTED_CREDIT_ATTRIBUTES))
            ],
            dtype=np.intp,
        )
        self._reason_codes = [
            ReasonCode(by_name[self.feature_names[i]].reason_code, by_name[self.feature_names[i]].reason_text)
            for i in self._reason_cols
        ]

    def _select_reasons(
        self, contributions: np.ndarray[Any, Any], *, over_limit: bool
    ) -> tuple[ReasonCode, ...]:
        """Adverse-action reasons from one row's TreeSHAP values: select_reasons' rule without a frame."""
        from cartwise.decisions.credit_policy import AMOUNT_OVER_LIMIT
        from cartwise.models.credit.reasons import MAX_REASONS

        weights = contributions[self._reason_cols]
        order = np.argsort(-weights, kind="stable")
        top = [int(j) for j in order[:MAX_REASONS] if weights[j] > 0] or [int(order[0])]
        chosen = [self._reason_codes[j] for j in top]
        if over_limit:
            chosen = [ReasonCode(AMOUNT_OVER_LIMIT[0], AMOUNT_OVER_LIMIT[1]), *chosen][:MAX_REASONS]
        return tuple(chosen)

    # -- general path ---------------------------------------------------------------
    def _frame(self, features: Mapping[str, Any]) -> Any:
        import pandas as pd

        row = {f: features.get(f) for f in self.feature_names}
        frame = pd.DataFrame([row])
        for f in self.feature_names:
            if f not in self.categorical:
                frame[f] = frame[f].astype("float64")
        return frame

    def score(self, features: Mapping[str, Any]) -> float:
        if self._onnx is not None:
            return float(self._pd(self._row(features))[0])
        return float(self.bundle.model.predict_proba(self._frame(features))[0, 1])

    def decide(self, features: Mapping[str, Any], amount_minor: int, plan_type: str) -> CreditResult:
        if self._onnx is not None:
            return self._fast_decide(features, amount_minor, plan_type)
        from cartwise.models.credit.decide import decide_credit

        out = decide_credit(
            self.bundle.model,
            self._frame(features),
            np.array([float(amount_minor)]),
            params=self.bundle.policy,
            plan_feature=self.plan_feature,
        ).iloc[0]
        reasons = tuple(ReasonCode(r.code, r.text) for r in out["reasons"])
        return self._result(
            list(out["approved_plans"]),
            plan_type,
            float(out["pd"]),
            int(out["limit_minor"]),
            amount_minor,
            reasons,
        )

    def _result(
        self,
        approved: list[str],
        plan_type: str,
        pd_value: float,
        limit: int,
        amount_minor: int,
        reasons: tuple[ReasonCode, ...],
    ) -> CreditResult:
        offers = tuple(
            PlanOffer(t.plan_type, t.n_installments, schedule[0], 0, 0.0, schedule)
            for t in self.plans
            if t.plan_type in approved
            for schedule in (t.installment_amounts(amount_minor),)
        )
        outcome = "approve" if approved else "decline"
        if approved and plan_type not in approved:
            outcome = "review"  # another plan would do; the shopper chooses
        return CreditResult(outcome, pd_value, limit, offers, reasons)


class RecsBundleRecommender:
    """The recommender port on a :class:`~cartwise.models.recs.RecsBundle` and product prices."""

    def __init__(
        self,
        bundle: Any,
        prices: Mapping[int, int] | None = None,
        titles: Mapping[int, str] | None = None,
        *,
        encoder: Any = None,
        overfetch: int = 5,
    ) -> None:
        self.bundle = bundle
        self.prices = dict(prices or {})
        self.titles = dict(titles or {})
        self.overfetch = overfetch
        self._search = None
        if bundle.embeddings is not None and encoder is not None:
            from cartwise.models.recs.search import SemanticSearch

            self._search = SemanticSearch(bundle.product_embeddings(), encoder)

    def _hit(self, item: Any, score: float) -> ProductHit:
        pid = int(item)
        return ProductHit(pid, float(score), self.prices.get(pid), self.titles.get(pid))

    def recommend(self, customer_id: int, k: int, *, max_price_minor: int | None = None) -> list[ProductHit]:
        fetch = k if max_price_minor is None or not self.prices else k * self.overfetch
        items, scores = self.bundle.recommend_one(customer_id, fetch)
        hits = []
        for item, score in zip(items.tolist(), scores.tolist(), strict=True):
            price = self.prices.get(int(item))
            if max_price_minor is not None and price is not None and price > max_price_minor:
                continue
            hits.append(self._hit(item, score))
            if len(hits) == k:
                break
        return hits

    def search(self, query: str, k: int) -> list[ProductHit]:
        if self._search is None:
            raise ModelBundleError("this recommendation bundle holds no product embeddings to search")
        found = self._search.search(query, k)
        return [self._hit(i, s) for i, s in zip(found["item_id"], found["score"], strict=True)]


def load_model_dir(model: str, directory: Path, *, products: Callable[[], Any] | None = None) -> Any:
    """Load a bundle directory into the port the service uses for ``model``."""
    if model == "fraud":
        from cartwise.models.fraud.bundle import load_bundle as load_fraud

        return FraudBundleScorer(load_fraud(directory))
    if model == "credit":
        from cartwise.models.credit.bundle import load_bundle as load_credit

        return CreditBundleScorer(load_credit(directory))
    if model == "recs":
        from cartwise.models.recs.bundle import load_bundle as load_recs

        bundle = load_recs(directory)
        prices: dict[int, int] = {}
        titles: dict[int, str] = {}
        if products is not None:
            table = products()
            if table is not None:
                prices = dict(
                    zip(table["product_id"].to_pylist(), table["price_minor"].to_pylist(), strict=True)
                )
                titles = dict(zip(table["product_id"].to_pylist(), table["title"].to_pylist(), strict=True))
        encoder = None
        if bundle.embeddings is not None:
            from cartwise.models.recs.embeddings import load_text_encoder

            encoder = load_text_encoder()
        return RecsBundleRecommender(bundle, prices, titles, encoder=encoder)
    raise ModelBundleError(f"cartwise serves the models fraud, credit and recs, not {model!r}")


class RegistryModelSource:
    """Champions and challengers from cartwise's MLflow registry."""

    def __init__(self, registry: Any, *, products: Callable[[], Any] | None = None) -> None:
        self.registry = registry
        self.products = products

    @classmethod
    def from_settings(
        cls, settings: Any, *, products: Callable[[], Any] | None = None
    ) -> RegistryModelSource:
        from cartwise.registry.registry import ModelRegistry

        return cls(ModelRegistry.from_settings(settings), products=products)

    def version_of(self, model: str, alias: str) -> str | None:
        version = self.registry.alias_version(model, alias)
        return None if version is None else str(version)

    def load(self, model: str, alias: str) -> LoadedModel:
        import json

        try:
            directory = Path(self.registry.load_bundle(model, alias))
        except RegistryError:
            raise
        except Exception as exc:
            raise RegistryError(f"could not load {model}@{alias}: {exc}") from exc
        version = directory.parent.name.removeprefix("v")
        pointer = directory.parent.parent / f"{alias}.json"
        if pointer.is_file():  # the cache remembers which version the alias pointed at
            version = str(json.loads(pointer.read_text()).get("version", version))
        return LoadedModel(model, version, load_model_dir(model, directory, products=self.products))
