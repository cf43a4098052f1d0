"""Kafka adapter (confluent-kafka): the client used against Apache Kafka, MSK or any Kafka-protocol broker.

Offsets are committed by hand, synchronously, only after the processor has
applied a batch. The consumer is tuned for low latency (short fetch waits);
librdkafka's defaults wait up to half a second per fetch.

``assignment="subscribe"`` joins the consumer group, so several processors
share the partitions (a join takes seconds: the broker waits for members).
``assignment="assign"`` takes every partition of the topic at once, starting
from the group's committed offsets: for a single processor per group, with
no join delay. Either way offsets are committed to the group.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from cartwise.errors import StreamError
from cartwise.streaming.events import StreamEvent, decode_event, encode_event
from cartwise.streaming.stream import Batch, EventStream

__all__ = ["KafkaStream"]

logger = logging.getLogger(__name__)

_CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "fetch.wait.max.ms": 10,
    "fetch.min.bytes": 1,
    "fetch.error.backoff.ms": 50,
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
    "topic.metadata.refresh.interval.ms": 10_000,
    "queued.min.messages": 20_000,
    "log.connection.close": False,
}
_PRODUCER_DEFAULTS: dict[str, Any] = {
    "linger.ms": 5,
    "acks": "all",
    "enable.idempotence": False,
    "log.connection.close": False,
}


class KafkaStream(EventStream):
    """A consumer of ``group`` (and a producer) on the Kafka topic ``topic``."""

    def __init__(
        self,
        bootstrap_servers: str = "127.0.0.1:19092",
        *,
        topic: str = "cartwise.events",
        group: str = "cartwise-features",
        partitions: int = 1,
        assignment: Literal["subscribe", "assign"] = "subscribe",
        consumer_config: Mapping[str, Any] | None = None,
        producer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.group = group
        self.partitions = partitions
        self.assignment = assignment
        self.consumer_config = dict(consumer_config or {})
        self.producer_config = dict(producer_config or {})
        self._producer: Producer | None = None
        self._consumer: Consumer | None = None
        self._topic_ready = False

    # -- setup -----------------------------------------------------------
    def ensure_topic(self, timeout: float = 10.0) -> None:
        """Create the topic if the broker does not have it."""
        if self._topic_ready:
            return
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        try:
            metadata = admin.list_topics(timeout=timeout)
        except KafkaException as exc:
            raise StreamError(
                f"Kafka broker at {self.bootstrap_servers} is not reachable ({exc}); "
                "start it or set stream.bootstrap_servers in the settings"
            ) from exc
        if self.topic not in metadata.topics:
            futures = admin.create_topics(
                [NewTopic(self.topic, num_partitions=self.partitions, replication_factor=1)]
            )
            try:
                futures[self.topic].result(timeout)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise StreamError(f"cannot create Kafka topic {self.topic!r}: {exc}") from exc
        self._topic_ready = True

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self.ensure_topic()
            self._producer = Producer(
                {"bootstrap.servers": self.bootstrap_servers, **_PRODUCER_DEFAULTS, **self.producer_config}
            )
        return self._producer

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            self.ensure_topic()
            config = {
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": self.group,
                "client.id": f"cartwise-{uuid.uuid4().hex[:8]}",
                **_CONSUMER_DEFAULTS,
                **self.consumer_config,
            }
            consumer = Consumer(config)
            if self.assignment == "assign":
                metadata = consumer.list_topics(self.topic, timeout=10)
                partitions = [
                    TopicPartition(self.topic, p) for p in sorted(metadata.topics[self.topic].partitions)
                ]
                starts = consumer.committed(partitions, timeout=10)
                # a partition the group never committed starts at the beginning
                consumer.assign(
                    [
                        TopicPartition(
                            self.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
                        )
                        for tp in starts
                    ]
                )
            else:
                consumer.subscribe([self.topic])
            self._consumer = consumer
        return self._consumer

    # -- port ------------------------------------------------------------
    def publish(self, events: Sequence[StreamEvent]) -> None:
        producer = self.producer
        errors: list[str] = []

        def on_delivery(err: KafkaError | None, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        for event in events:
            while True:
                try:
                    producer.produce(self.topic, encode_event(event), on_delivery=on_delivery)
                    break
                except BufferError:  # local queue full: let it drain
                    producer.poll(0.05)
        remaining = producer.flush(30)
        if remaining or errors:
            raise StreamError(
                f"{remaining} events not delivered to Kafka topic {self.topic!r}"
                + (f"; first error: {errors[0]}" if errors else "")
            )

    def consume(self, max_events: int = 1000, timeout: float = 1.0) -> Batch:
        messages = self.consumer.consume(num_messages=max_events, timeout=timeout)
        events: list[StreamEvent] = []
        partitions: list[int] = []
        offsets: dict[int, int] = {}
        for message in messages:
            err = message.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise StreamError(f"Kafka consumer error on {self.topic!r}: {err}")
            value, partition, offset = message.value(), message.partition(), message.offset()
            if value is None or partition is None or offset is None:
                continue  # a tombstone or a message without position carries no event
            events.append(decode_event(value))
            partitions.append(partition)
            offsets[partition] = offset + 1
        return Batch(events, position=offsets, partitions=partitions)

    def commit(self, batch: Batch) -> None:
        offsets: dict[int, int] = batch.position or {}
        if not offsets:
            return
        self.consumer.commit(
            offsets=[TopicPartition(self.topic, p, o) for p, o in offsets.items()], asynchronous=False
        )

    def lag(self) -> int | None:
        consumer = self.consumer
        assignment = consumer.assignment()
        if not assignment:
            return None
        total = 0
        for tp in consumer.committed(assignment, timeout=5):
            low, high = consumer.get_watermark_offsets(tp, timeout=5)
            # some brokers report the high watermark per record batch: never below zero
            total += max(0, high - (tp.offset if tp.offset >= 0 else low))
        return total

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
