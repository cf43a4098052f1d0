"""Event streams and the processor that keeps online features fresh.

The port is :class:`~cartwise.streaming.stream.EventStream`, with adapters in
:mod:`.memory_stream` (in-process), :mod:`.redis_stream` (Redis Streams) and
:mod:`.kafka_stream` (confluent-kafka); :mod:`.processor` applies events to the
online store. Adapters are imported where used, so that importing this package
loads no client library.
"""

__all__: list[str] = []
