// A small command-line driver of segmentio/kafka-go (Debian's
// golang-github-segmentio-kafka-go-dev, 0.2.1) for compat/test_go.py. Every subcommand
// prints JSON lines on stdout and exits non-zero with the client's error on stderr.
//
//	kafkago -b HOST:PORT write      -t TOPIC -n N [-tag S]      (Writer, defaults)
//	kafkago -b HOST:PORT read-group -t TOPIC -g GROUP -n N      (Reader with GroupID, defaults)
//	kafkago -b HOST:PORT partitions -t TOPIC                    (Conn.ReadPartitions: Metadata v1)
//	kafkago -b HOST:PORT offsets    -t TOPIC -p PARTITION       (Conn.ReadFirstOffset/ReadLastOffset: ListOffsets v1)
//	kafkago -b HOST:PORT create-topic -t TOPIC -p PARTITIONS    (Conn.CreateTopics)
//	kafkago -b HOST:PORT delete-topic -t TOPIC                  (Conn.DeleteTopics)
//
// kafka-go 0.2.1 sends no ApiVersions request: each API is spoken at one fixed version
// (Produce v2 with v1 message sets, Fetch v2, CreateTopics v0, Metadata v1, JoinGroup v1, ...).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

type record struct {
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	Value     string `json:"value"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kafkago: "+format+"\n", args...)
	os.Exit(1)
}

func emit(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail("json: %v", err)
	}
	fmt.Println(string(b))
}

func main() {
	bootstrap := flag.String("b", "", "bootstrap host:port")
	flag.Parse()
	if *bootstrap == "" || flag.NArg() < 1 {
		fail("usage: kafkago -b HOST:PORT COMMAND [flags]")
	}
	cmd := flag.Arg(0)
	sub := flag.NewFlagSet(cmd, flag.ExitOnError)
	topic := sub.String("t", "", "topic")
	n := sub.Int("n", 10, "number of records")
	tag := sub.String("tag", "g", "tag in keys and values")
	group := sub.String("g", "", "consumer group")
	partition := sub.Int("p", 1, "partition (offsets) or partition count (create-topic)")
	timeout := sub.Duration("timeout", 30*time.Second, "give up after")
	if err := sub.Parse(flag.Args()[1:]); err != nil {
		fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	switch cmd {
	case "write":
		w := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{*bootstrap}, Topic: *topic})
		msgs := make([]kafka.Message, *n)
		for i := range msgs {
			msgs[i] = kafka.Message{
				Key:   []byte(fmt.Sprintf("key-%s-%d", *tag, i)),
				Value: []byte(fmt.Sprintf("value %s %d from kafka-go", *tag, i)),
			}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			fail("WriteMessages: %v", err)
		}
		if err := w.Close(); err != nil {
			fail("Close: %v", err)
		}
		emit(map[string]interface{}{"event": "sent", "n": *n})
	case "read-group":
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{*bootstrap}, Topic: *topic, GroupID: *group})
		for i := 0; i < *n; i++ {
			// ReadMessage commits each message (CommitInterval 0: synchronous commits).
			m, err := r.ReadMessage(ctx)
			if err != nil {
				fail("ReadMessage after %d records: %v", i, err)
			}
			emit(record{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)})
		}
		if err := r.Close(); err != nil {
			fail("Close: %v", err)
		}
		emit(map[string]interface{}{"event": "closed", "n": *n})
	case "partitions", "offsets", "create-topic", "delete-topic":
		conn, err := kafka.DialContext(ctx, "tcp", *bootstrap)
		if err != nil {
			fail("Dial: %v", err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(*timeout))
		switch cmd {
		case "partitions":
			ps, err := conn.ReadPartitions(*topic)
			if err != nil {
				fail("ReadPartitions: %v", err)
			}
			for _, p := range ps {
				emit(map[string]interface{}{"topic": p.Topic, "partition": p.ID, "leader": p.Leader.ID, "host": p.Leader.Host, "port": p.Leader.Port})
			}
		case "offsets":
			pc, err := kafka.DialLeader(ctx, "tcp", *bootstrap, *topic, *partition)
			if err != nil {
				fail("DialLeader: %v", err)
			}
			defer pc.Close()
			_ = pc.SetDeadline(time.Now().Add(*timeout))
			first, err := pc.ReadFirstOffset()
			if err != nil {
				fail("ReadFirstOffset: %v", err)
			}
			last, err := pc.ReadLastOffset()
			if err != nil {
				fail("ReadLastOffset: %v", err)
			}
			emit(map[string]interface{}{"first": first, "last": last})
		case "create-topic":
			if err := conn.CreateTopics(kafka.TopicConfig{Topic: *topic, NumPartitions: *partition, ReplicationFactor: 1}); err != nil {
				fail("CreateTopics: %v", err)
			}
			emit(map[string]interface{}{"event": "created", "topic": *topic})
		case "delete-topic":
			if err := conn.DeleteTopics(*topic); err != nil {
				fail("DeleteTopics: %v", err)
			}
			emit(map[string]interface{}{"event": "deleted", "topic": *topic})
		}
	default:
		fail("unknown command %q", cmd)
	}
}
