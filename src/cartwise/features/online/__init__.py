"""The online feature store: per-entity state kept fresh by the stream, read for a checkout in one round trip.

Adapters: :class:`~cartwise.features.online.memory.MemoryOnlineStore` (in-process,
the embedded default) and :class:`~cartwise.features.online.redis_store.RedisOnlineStore`;
``cartwise.bootstrap.make_online_store`` picks one from the settings.
:func:`~cartwise.features.online.materialize.materialize` loads a store from the warehouse.
"""

from cartwise.features.online.store import DEFAULT_LATENESS, OnlineStore

__all__ = ["DEFAULT_LATENESS", "OnlineStore"]
