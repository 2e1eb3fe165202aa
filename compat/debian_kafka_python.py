"""A driver of Debian's python3-kafka (kafka-python 2.0.2), run with the system
/usr/bin/python3 by compat/test_debian_clients.py (the venv has kafka-python 3.x).
Prints JSON lines; a client error ends it with a traceback and exit code 1.

  debian_kafka_python.py BOOTSTRAP version
  debian_kafka_python.py BOOTSTRAP produce TOPIC N TAG
  debian_kafka_python.py BOOTSTRAP consume-group TOPIC GROUP N [TIMEOUT_S]
  debian_kafka_python.py BOOTSTRAP create-topic TOPIC PARTITIONS
  debian_kafka_python.py BOOTSTRAP list-topics

The clients keep their defaults (api_version probed from the broker, acks=1, no
compression, auto commit), except `auto_offset_reset="earliest"` for a new group that
reads what was produced before it started.
"""

import json
import sys
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic


def emit(obj):
    print(json.dumps(obj), flush=True)


def main():
    bootstrap, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "version":
        emit({"version": kafka.__version__, "file": kafka.__file__, "python": sys.version.split()[0]})
    elif cmd == "produce":
        topic, n, tag = args[0], int(args[1]), args[2]
        p = KafkaProducer(bootstrap_servers=bootstrap)
        emit({"event": "config", "api_version": list(p.config["api_version"]), "acks": p.config["acks"],
              "compression": p.config["compression_type"]})
        futures = []
        for i in range(n):
            futures.append(
                (i, p.send(
                    topic,
                    key=("key-%s-%d" % (tag, i)).encode(),
                    value=("value %s %d from python3-kafka" % (tag, i)).encode(),
                    headers=[("idx", str(i).encode()), ("client", b"python3-kafka")],
                ))
            )
        for i, f in futures:
            md = f.get(timeout=30)
            emit({"key": "key-%s-%d" % (tag, i), "partition": md.partition, "offset": md.offset})
        p.close()
    elif cmd == "consume-group":
        topic, group, n = args[0], args[1], int(args[2])
        timeout = float(args[3]) if len(args) > 3 else 30.0
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest")
        emit({"event": "config", "api_version": list(c.config["api_version"]),
              "enable_auto_commit": c.config["enable_auto_commit"]})
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < n and time.monotonic() < deadline:
            for tp, msgs in c.poll(timeout_ms=200).items():
                for m in msgs:
                    emit({"partition": m.partition, "offset": m.offset,
                          "key": m.key.decode() if m.key is not None else None,
                          "value": m.value.decode("utf-8", "replace") if m.value is not None else None,
                          "headers": {k: v.decode() for k, v in m.headers}})
                    seen += 1
        if seen < n:
            raise SystemExit("timed out after %ss with %d of %d records" % (timeout, seen, n))
        # close() commits the consumed offsets (enable_auto_commit, the default).
        c.close()
        emit({"event": "closed", "n": seen})
    elif cmd == "create-topic":
        topic, partitions = args[0], int(args[1])
        a = KafkaAdminClient(bootstrap_servers=bootstrap)
        res = a.create_topics([NewTopic(topic, partitions, 1)])
        emit({"event": "created", "errors": [list(e) for e in res.topic_errors]})
        a.close()
    elif cmd == "list-topics":
        a = KafkaAdminClient(bootstrap_servers=bootstrap)
        names = a.list_topics()
        described = {t["topic"]: len(t["partitions"]) for t in a.describe_topics(names)}
        for name in sorted(names):
            emit({"topic": name, "partitions": described.get(name)})
        a.close()
    else:
        raise SystemExit("unknown command %r" % cmd)


if __name__ == "__main__":
    main()
