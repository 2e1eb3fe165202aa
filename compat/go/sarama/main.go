// A small command-line driver of sarama (Debian's golang-github-shopify-sarama-dev,
// 1.22.1) for compat/test_go.py. Every subcommand prints JSON lines on stdout and
// exits non-zero with the client's error on stderr.
//
//	sarama -b HOST:PORT [-version default|max] produce-sync  -t TOPIC -n N [-tag S]
//	sarama -b HOST:PORT [-version default|max] produce-async -t TOPIC -n N [-tag S]
//	sarama -b HOST:PORT [-version default|max] consume-group -t TOPIC -g GROUP -n N [-timeout 30s] [-retention D]
//	sarama -b HOST:PORT [-version default|max] create-topic  -t TOPIC -p PARTITIONS
//	sarama -b HOST:PORT [-version default|max] list-topics
//
// The client configuration is sarama.NewConfig() (the defaults). `-version max` sets
// Config.Version to sarama.MaxVersion (the newest Kafka version this sarama knows):
// sarama's default Version is its oldest (0.8.2), which speaks Produce v0 and Fetch v0.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

type record struct {
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       string            `json:"key"`
	Value     string            `json:"value"`
	Headers   map[string]string `json:"headers,omitempty"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sarama: "+format+"\n", args...)
	os.Exit(1)
}

func emit(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail("json: %v", err)
	}
	fmt.Println(string(b))
}

func message(topic, tag string, i int, headers bool) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{
		Topic: topic,
		Key:   sarama.StringEncoder(fmt.Sprintf("key-%s-%d", tag, i)),
		Value: sarama.StringEncoder(fmt.Sprintf("value %s %d from sarama", tag, i)),
	}
	if headers {
		m.Headers = []sarama.RecordHeader{
			{Key: []byte("idx"), Value: []byte(fmt.Sprint(i))},
			{Key: []byte("client"), Value: []byte("sarama")},
		}
	}
	return m
}

type handler struct {
	want int
	mu   sync.Mutex
	seen int
	done chan struct{}
	once sync.Once
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	emit(map[string]interface{}{"event": "assigned", "claims": s.Claims(), "member": s.MemberID(), "generation": s.GenerationID()})
	return nil
}

func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		r := record{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)}
		if len(m.Headers) > 0 {
			r.Headers = map[string]string{}
			for _, h := range m.Headers {
				r.Headers[string(h.Key)] = string(h.Value)
			}
		}
		h.mu.Lock()
		emit(r)
		s.MarkMessage(m, "")
		h.seen++
		if h.seen >= h.want {
			h.once.Do(func() { close(h.done) })
		}
		h.mu.Unlock()
	}
	return nil
}

func main() {
	bootstrap := flag.String("b", "", "bootstrap host:port")
	version := flag.String("version", "default", "default (sarama.NewConfig's) or max (sarama.MaxVersion)")
	flag.Parse()
	if *bootstrap == "" || flag.NArg() < 1 {
		fail("usage: sarama -b HOST:PORT [-version default|max] COMMAND [flags]")
	}
	cmd := flag.Arg(0)
	sub := flag.NewFlagSet(cmd, flag.ExitOnError)
	topic := sub.String("t", "", "topic")
	n := sub.Int("n", 10, "number of records")
	tag := sub.String("tag", "s", "tag in keys and values")
	group := sub.String("g", "", "consumer group")
	partitions := sub.Int("p", 1, "partitions")
	timeout := sub.Duration("timeout", 30*time.Second, "give up after")
	retention := sub.Duration("retention", 0, "Consumer.Offsets.Retention (0: the default, OffsetCommit v1)")
	if err := sub.Parse(flag.Args()[1:]); err != nil {
		fail("%v", err)
	}

	conf := sarama.NewConfig()
	switch *version {
	case "default":
	case "max":
		conf.Version = sarama.MaxVersion
	default:
		fail("unknown -version %q", *version)
	}
	emit(map[string]interface{}{"event": "config", "version": conf.Version.String(), "idempotent": conf.Producer.Idempotent, "compression": fmt.Sprint(conf.Producer.Compression)})
	brokers := []string{*bootstrap}
	headers := conf.Version.IsAtLeast(sarama.V0_11_0_0)

	switch cmd {
	case "produce-sync":
		// SyncProducer needs Return.Successes (it sets nothing itself and refuses otherwise).
		conf.Producer.Return.Successes = true
		p, err := sarama.NewSyncProducer(brokers, conf)
		if err != nil {
			fail("NewSyncProducer: %v", err)
		}
		for i := 0; i < *n; i++ {
			m := message(*topic, *tag, i, headers)
			part, off, err := p.SendMessage(m)
			if err != nil {
				fail("SendMessage %d: %v", i, err)
			}
			emit(record{Partition: part, Offset: off, Key: fmt.Sprintf("key-%s-%d", *tag, i)})
		}
		if err := p.Close(); err != nil {
			fail("Close: %v", err)
		}
	case "produce-async":
		// Defaults: Return.Errors on, Return.Successes off; records are checked by
		// reading them back.
		p, err := sarama.NewAsyncProducer(brokers, conf)
		if err != nil {
			fail("NewAsyncProducer: %v", err)
		}
		var errs []string
		done := make(chan struct{})
		go func() {
			for e := range p.Errors() {
				errs = append(errs, e.Error())
			}
			close(done)
		}()
		for i := 0; i < *n; i++ {
			p.Input() <- message(*topic, *tag, i, headers)
		}
		p.AsyncClose()
		<-done
		if len(errs) > 0 {
			fail("%d produce errors, first: %s", len(errs), errs[0])
		}
		emit(map[string]interface{}{"event": "sent", "n": *n})
	case "consume-group":
		// Offsets.Initial is OffsetNewest by default; the test reads what was produced
		// before the group started, so it starts a new group at the oldest offset.
		conf.Consumer.Offsets.Initial = sarama.OffsetOldest
		conf.Consumer.Offsets.Retention = *retention
		g, err := sarama.NewConsumerGroup(brokers, *group, conf)
		if err != nil {
			fail("NewConsumerGroup: %v", err)
		}
		go func() {
			for e := range g.Errors() {
				fmt.Fprintf(os.Stderr, "sarama: group error: %v\n", e)
			}
		}()
		h := &handler{want: *n, done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() {
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{*topic}, h); err != nil {
					stopped <- err
					return
				}
			}
			stopped <- nil
		}()
		select {
		case <-h.done:
		case err := <-stopped:
			fail("Consume: %v", err)
		case <-time.After(*timeout):
			fail("timed out after %v with %d of %d records", *timeout, h.seen, *n)
		}
		cancel()
		<-stopped
		// Close commits the marked offsets.
		if err := g.Close(); err != nil {
			fail("Close: %v", err)
		}
		emit(map[string]interface{}{"event": "closed", "n": h.seen})
	case "create-topic":
		a, err := sarama.NewClusterAdmin(brokers, conf)
		if err != nil {
			fail("NewClusterAdmin: %v", err)
		}
		if err := a.CreateTopic(*topic, &sarama.TopicDetail{NumPartitions: int32(*partitions), ReplicationFactor: 1}, false); err != nil {
			fail("CreateTopic: %v", err)
		}
		_ = a.Close()
		emit(map[string]interface{}{"event": "created", "topic": *topic})
	case "list-topics":
		a, err := sarama.NewClusterAdmin(brokers, conf)
		if err != nil {
			fail("NewClusterAdmin: %v", err)
		}
		ts, err := a.ListTopics()
		if err != nil {
			fail("ListTopics: %v", err)
		}
		_ = a.Close()
		for name, d := range ts {
			emit(map[string]interface{}{"topic": name, "partitions": d.NumPartitions})
		}
	default:
		fail("unknown command %q", cmd)
	}
}
