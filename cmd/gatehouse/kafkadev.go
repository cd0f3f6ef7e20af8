package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/gatehouse-dev/gatehouse/internal/ingest/kafka"
)

// newKafkaDevCommand serves an in-memory Kafka (franz-go's kfake: the real
// wire protocol, one broker, nothing kept) for local tries and black-box
// tests. It is not for production: it keeps nothing across restarts, and
// has no replication, security or retention to speak of.
func newKafkaDevCommand() *cobra.Command {
	addr := "127.0.0.1:9092"
	topic := kafka.DefaultTopic
	partitions := int32(12)
	cmd := &cobra.Command{
		Use:   "kafka-dev",
		Short: "Serve an in-memory Kafka for local tries and tests (not for production)",
		Long: "Serves a one-broker Kafka that keeps everything in memory, with the topic created, until stopped.\n" +
			"Point `gatehouse serve --kafka-brokers` at it. Not for production: nothing survives a restart.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return fmt.Errorf("--addr: %w", err)
			}
			p, err := strconv.Atoi(port)
			if err != nil {
				return fmt.Errorf("--addr: port %q: %w", port, err)
			}
			// Groups take session timeouts down to a second, so that a
			// killed member's partitions move within seconds in tests.
			c, err := kfake.NewCluster(kfake.Ports(p), kfake.SeedTopics(partitions, topic),
				kfake.GroupMinSessionTimeout(time.Second),
				kfake.ListenFn(func(network, _ string) (net.Listener, error) {
					return net.Listen(network, net.JoinHostPort(host, port))
				}))
			if err != nil {
				return fmt.Errorf("kafka-dev on %s: %w", addr, err)
			}
			defer c.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "kafka-dev: serving %s with topic %s (%d partitions); in memory, not for production\n",
				c.ListenAddrs()[0], topic, partitions)
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", addr, "address to listen on")
	f.StringVar(&topic, "topic", topic, "topic to create")
	f.Int32Var(&partitions, "partitions", partitions, "partitions of the topic")
	return cmd
}
