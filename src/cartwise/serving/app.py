"""The decision service: ``create_app(settings, components)`` builds the FastAPI app.

Nothing connects at import or construction time: the lifespan opens the decision
log, loads the champions and starts the model poller; shutdown flushes the log.
"""

import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from threadpoolctl import threadpool_limits

from cartwise.errors import ModelBundleError
from cartwise.serving.batching import Batcher
from cartwise.serving.decide import DecisionEngine, RequestFeatures
from cartwise.serving.decision_log import DecisionLog
from cartwise.serving.metrics import ServiceMetrics
from cartwise.serving.models import ModelManager, ModelSnapshot
from cartwise.serving.ports import CheckoutFacts, FeatureReader, ModelSource
from cartwise.serving.schemas import (
    CheckoutDecision,
    CheckoutRequest,
    RecommendationRequest,
    RecommendationResponse,
    SearchResponse,
)
from cartwise.serving.security import ApiKey, KeyRing, RateLimiter, retry_after_header
from cartwise.serving.settings import ServiceSettings

__all__ = ["ServiceComponents", "create_app"]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ROUTES = (
    "/v1/checkout/decisions",
    "/v1/recommendations",
    "/v1/products/search",
    "/metrics",
    "/healthz",
    "/readyz",
    "/ping",
    "/invocations",
    "/openapi.json",
    "/docs",
)


@dataclass
class ServiceComponents:
    """The adapters the service runs on (see :mod:`cartwise.serving.bootstrap` for the defaults)."""

    models: ModelSource
    features: FeatureReader
    decision_log: DecisionLog
    keys: KeyRing
    gauges_file: Path | None = None
    request_features: RequestFeatures | None = None
    """Request-time features beyond the service's own (default none; the catalog's in production)."""


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.detail, self.headers = status, detail, headers or {}


FastRoute = Callable[[Scope, bytes, float], Awaitable[bytes | None]]
"""``(scope, body, started) -> response body``, or None to hand the request to the FastAPI route."""


class _Edge:
    """Pure ASGI middleware: body size limit (413), per-route latency and status metrics, fast routes.

    A fast route answers the well-formed, authorised requests of a hot route
    itself (no dependency injection, no response model); whatever it does not
    accept — a missing key, a bad body, the rate limit, not ready — it hands on
    unchanged to the FastAPI route, which defines the contract and every error.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServiceMetrics,
        max_body: int,
        fast: Mapping[str, FastRoute] | None = None,
    ) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body
        self.fast = dict(fast or {})

    async def _reject(self, send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})["started"] = started
        path = scope["path"]
        route = path if path in ROUTES else "other"
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        too_big = False
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
        if too_big:
            status_holder[0] = 413
            await self._reject(send, 413, f"request body larger than {self.max_body} bytes")
        else:
            wrapped_receive = receive
            fast = self.fast.get(path) if scope["method"] == "POST" else None
            if fast is not None or (length is None and scope["method"] in ("POST", "PUT", "PATCH")):
                # Read the body within the limit (it may come chunked), then answer or hand it on.
                chunks: list[bytes] = []
                size = 0
                more = True
                while more:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        too_big = True
                        break
                    chunks.append(chunk)
                    more = message.get("more_body", False)
                if too_big:
                    status_holder[0] = 413
                    await self._reject(send, 413, f"request body larger than {self.max_body} bytes")
                else:
                    body = b"".join(chunks)
                    try:
                        answer = await fast(scope, body, started) if fast is not None else None
                    except Exception as exc:  # as the app's handler: type and route only, no request data
                        logger.error("unexpected %s on %s", type(exc).__name__, path, exc_info=exc)
                        status_holder[0] = 500
                        await self._reject(send, 500, "internal error; it has been logged")
                        answer = b""
                    if answer:
                        status_holder[0] = 200
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 200,
                                "headers": [
                                    (b"content-type", b"application/json"),
                                    (b"content-length", str(len(answer)).encode()),
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": answer})
                    elif answer is None:
                        sent = False

                        async def replay() -> Message:
                            nonlocal sent
                            if not sent:
                                sent = True
                                return {"type": "http.request", "body": body, "more_body": False}
                            return await receive()

                        wrapped_receive = replay
                        await self.app(scope, wrapped_receive, send_wrapper)
            else:
                await self.app(scope, wrapped_receive, send_wrapper)
        method = scope["method"]
        self.metrics.http_latency.labels(route, method).observe(time.perf_counter() - started)
        self.metrics.http_requests.labels(route, method, str(status_holder[0])).inc()


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def served_features(snapshot: ModelSnapshot) -> set[str] | None:
    """Every feature the served fraud and credit models (champions and challengers) read; None if unknown."""
    wanted: set[str] = set()
    for group in (snapshot.champions, snapshot.challengers):
        for model, loaded in group.items():
            if model == "recs":
                continue
            names = getattr(loaded.scorer, "feature_names", None)
            if names is None:
                return None
            wanted.update(names)
    return wanted


def create_app(settings: ServiceSettings | None, components: ServiceComponents) -> FastAPI:
    """The decision service on the given adapters (nothing is connected until the app starts)."""
    settings = settings or ServiceSettings()
    metrics = ServiceMetrics(components.gauges_file)

    def on_swap(snapshot: ModelSnapshot) -> None:
        served: dict[tuple[str, str], tuple[str, float | None]] = {}
        for model, lm in snapshot.champions.items():
            served[(model, "champion")] = (lm.version, lm.trained_at)
        for model, lm in snapshot.challengers.items():
            served[(model, "challenger")] = (lm.version, lm.trained_at)
        metrics.set_models(served)
        restrict = getattr(components.features, "restrict", None)
        if restrict is not None:
            restrict(served_features(snapshot))

    manager = ModelManager(
        components.models,
        poll_seconds=settings.poll_seconds,
        shadow_queue=settings.shadow_queue,
        on_swap=on_swap,
    )
    engine = DecisionEngine(
        manager, components.features, components.decision_log, metrics, settings, components.request_features
    )
    limiter = RateLimiter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One thread for numpy's BLAS and OpenMP in each worker: a request's matrix products are
        # small, parallelism comes from the workers, and idle BLAS threads spin for milliseconds
        # after every product (with them, half of a worker's CPU went to spinning).
        thread_limits = threadpool_limits(limits=1)
        components.decision_log.start()
        manager.load()
        # Models, catalogue and feature plans live as long as the process: keep the collector from
        # walking them again and again (a full collection over them is a latency spike).
        gc.collect()
        gc.freeze()
        manager.start_polling()
        try:
            yield
        finally:
            manager.close()
            components.decision_log.close()
            components.features.close()
            gc.unfreeze()  # whatever the service held may be collected again
            thread_limits.restore_original_limits()

    app = FastAPI(
        title="cartwise decision service",
        version="1",
        description="Checkout decisions (fraud + credit), recommendations and product search for pay-later commerce.",
        lifespan=lifespan,
        # The service's metrics are Prometheus's (/metrics); FastAPI's OpenTelemetry hooks would
        # otherwise look for configured providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.manager = manager
    app.state.metrics = metrics
    app.state.engine = engine
    app.state.decision_log = components.decision_log

    api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your cartwise API key.")

    def require(scope: str, *, optional: bool = False) -> Callable[..., Awaitable[ApiKey | None]]:
        # async: a sync dependency would cost a thread-pool hop on every request
        async def check(key: Annotated[str | None, Depends(api_key_header)]) -> ApiKey | None:
            if optional:
                return None
            if not key:
                raise ApiError(
                    401, "missing API key: send it in the X-API-Key header", {"WWW-Authenticate": "ApiKey"}
                )
            found = components.keys.lookup(key)
            if found is None:
                raise ApiError(401, "unknown API key", {"WWW-Authenticate": "ApiKey"})
            if scope not in found.scopes and "admin" not in found.scopes:
                raise ApiError(403, f"this API key lacks the {scope!r} scope")
            wait = limiter.acquire(found)
            if wait > 0:
                raise ApiError(
                    429, "rate limit exceeded for this API key", {"Retry-After": retry_after_header(wait)}
                )
            return found

        return check

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field(e.get("loc", ())),
                "message": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        fields = sorted({e["field"] for e in errors})
        return JSONResponse(
            {"detail": f"invalid request: {', '.join(fields)}", "errors": errors}, status_code=422
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, never a client's mistake: log the type and route only (no request data).
        logger.error("unexpected %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    def _ready_snapshot() -> ModelSnapshot:
        snapshot = manager.snapshot
        if snapshot is None:
            raise ApiError(503, f"not ready: {manager.not_ready_reason}", {"Retry-After": "5"})
        return snapshot

    errors_doc: dict[int | str, dict[str, Any]] = {
        401: {"description": "No or unknown API key"},
        403: {"description": "The key lacks the scope"},
        413: {"description": "Body too large"},
        429: {"description": "Rate limit; see Retry-After"},
        503: {"description": "Models not loaded"},
    }

    def _decide(body: CheckoutRequest, request: Request) -> Response:
        if body.currency not in settings.currencies:
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "currency"),
                        "msg": (
                            f"currency {body.currency} is not served: the models decide on orders in "
                            f"{', '.join(settings.currencies)}; send the amount in one of those"
                        ),
                        "type": "currency_not_served",
                    }
                ]
            )
        _ready_snapshot()
        started = request.scope.get("state", {}).get("started", time.perf_counter())
        # the engine serialises the answer once, for the log and the client alike
        return Response(engine.decide_json(body, started), media_type="application/json")

    @app.post(
        "/v1/checkout/decisions",
        response_model=CheckoutDecision,
        responses=errors_doc,
        summary="Decide on a pay-later checkout",
    )
    async def checkout_decision(
        body: CheckoutRequest,
        request: Request,
        _key: Annotated[ApiKey | None, Depends(require("decisions"))],
    ) -> Response:
        return _decide(body, request)

    @app.post(
        "/v1/recommendations",
        response_model=RecommendationResponse,
        responses=errors_doc,
        summary="Top-k products the customer can afford",
    )
    async def recommendations(
        body: RecommendationRequest,
        _key: Annotated[ApiKey | None, Depends(require("recommendations"))],
    ) -> Response:
        return Response(recommend_json(body), media_type="application/json")

    def recommend_json(body: RecommendationRequest) -> bytes:
        snapshot = _ready_snapshot()
        recs = snapshot.champions["recs"]
        degraded = False
        affordable = body.max_price_minor
        if affordable is None:
            facts = CheckoutFacts(
                0, body.customer_id, 0, "", 1, 0, "pay_in_4", "card", int(time.time() * 1e6)
            )
            try:
                credit = snapshot.scorer("credit")
                # only the credit model's features: the limit needs nothing else
                online = components.features.read(facts, features=getattr(credit, "feature_names", None))
                limit = getattr(credit, "limit", None)  # PD and the closed-form limit, no reasons
                if limit is not None:
                    affordable = int(limit(online))
                else:
                    affordable = int(credit.decide(online, 1, "pay_in_4").approved_limit_minor)
            except Exception:
                degraded = True
                affordable = settings.degraded_limit_minor
        hits = recs.scorer.recommend(body.customer_id, body.k, max_price_minor=affordable)
        return orjson.dumps(
            {
                "customer_id": body.customer_id,
                "products": [
                    {
                        "product_id": h.product_id,
                        "score": h.score,
                        "price_minor": h.price_minor,
                        "title": h.title,
                    }
                    for h in hits
                ],
                "model_version": recs.version,
                "affordable_up_to_minor": affordable,
                "degraded": degraded,
            },
            option=orjson.OPT_SERIALIZE_NUMPY,
        )

    @app.get(
        "/v1/products/search",
        response_model=SearchResponse,
        responses=errors_doc,
        summary="Semantic product search",
    )
    def product_search(
        q: Annotated[str, Query(min_length=1, max_length=200, description="What the shopper typed")],
        _key: Annotated[ApiKey | None, Depends(require("recommendations"))],
        k: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> JSONResponse:
        snapshot = _ready_snapshot()
        recs = snapshot.champions["recs"]
        try:
            hits = recs.scorer.search(q, k)
        except ModelBundleError as exc:
            raise ApiError(503, f"product search is not available: {exc}") from exc
        return JSONResponse(
            {
                "query": q,
                "products": [
                    {
                        "product_id": h.product_id,
                        "score": h.score,
                        "price_minor": h.price_minor,
                        "title": h.title,
                    }
                    for h in hits
                ],
                "model_version": recs.version,
            }
        )

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Models are loaded and decisions can be served", responses={503: {}})
    async def readyz() -> JSONResponse:
        snapshot = manager.snapshot
        if snapshot is None:
            return JSONResponse({"ready": False, "reason": manager.not_ready_reason}, status_code=503)
        return JSONResponse(
            {
                "ready": True,
                "models": {m: lm.version for m, lm in snapshot.champions.items()},
                "challengers": {m: lm.version for m, lm in snapshot.challengers.items()},
            }
        )

    @app.get("/ping", summary="SageMaker health check", responses={503: {}})
    async def ping() -> Response:
        if manager.snapshot is None:
            return JSONResponse({"ready": False, "reason": manager.not_ready_reason}, status_code=503)
        return Response(status_code=200)

    invocations_scope = require("decisions", optional=settings.open_invocations)

    @app.post(
        "/invocations",
        response_model=CheckoutDecision,
        responses=errors_doc,
        summary="SageMaker inference: a checkout in, its decision out",
    )
    async def invocations(
        body: CheckoutRequest,
        request: Request,
        _key: Annotated[ApiKey | None, Depends(invocations_scope)],
    ) -> Response:
        return _decide(body, request)

    def fast_route(
        scope_name: str,
        model: type[CheckoutRequest] | type[RecommendationRequest],
        answer: Callable[[Any, float], Awaitable[bytes]],
    ) -> FastRoute:
        """A route for a ready service, a key with ``scope_name`` and a valid body; else None (FastAPI's route)."""

        async def route(scope: Scope, body: bytes, started: float) -> bytes | None:
            if manager.snapshot is None:
                return None
            raw_key = content_type = None
            for name, value in scope["headers"]:
                if name == b"x-api-key":
                    raw_key = value
                elif name == b"content-type":
                    content_type = value
            if not raw_key or content_type is None or not content_type.startswith(b"application/json"):
                return None
            found = components.keys.lookup(raw_key.decode("latin-1"))
            if found is None or (scope_name not in found.scopes and "admin" not in found.scopes):
                return None
            try:  # as FastAPI does it: parse the JSON, then validate the object
                request = model.model_validate(orjson.loads(body))
            except (orjson.JSONDecodeError, ValidationError):
                return None
            if isinstance(request, CheckoutRequest) and request.currency not in settings.currencies:
                return None  # the route explains the refusal
            if limiter.acquire(found) > 0:
                return None  # the route answers 429 (a refused acquire takes no token)
            return await answer(request, started)

        return route

    # Checkouts that arrive together are decided together (one store round trip, one call per model).
    decisions = Batcher(
        engine.decide_many_json,
        max_batch=settings.max_decision_batch,
        on_batch=metrics.decision_batch_size.observe,
    )
    app.state.decision_batcher = decisions

    async def decide_fast(body: CheckoutRequest, started: float) -> bytes:
        return await decisions.submit((body, started))

    async def recommend_fast(body: RecommendationRequest, started: float) -> bytes:
        return recommend_json(body)

    app.add_middleware(
        _Edge,
        metrics=metrics,
        max_body=settings.max_body_bytes,
        fast={
            "/v1/checkout/decisions": fast_route("decisions", CheckoutRequest, decide_fast),
            "/v1/recommendations": fast_route("recommendations", RecommendationRequest, recommend_fast),
        },
    )
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's spec, with the currencies this service decides on as the currency's enum."""
        if app.openapi_schema is None:
            spec = generate_openapi()  # cached by FastAPI in app.openapi_schema
            currency = spec["components"]["schemas"]["CheckoutRequest"]["properties"]["currency"]
            currency["enum"] = list(settings.currencies)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    return app
