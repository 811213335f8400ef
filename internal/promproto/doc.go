// Package promproto writes the Prometheus protobuf exposition format: a
// stream of MetricFamily messages of io.prometheus.client
// (github.com/prometheus/client_model, metrics.proto), each preceded by
// its length as a varint ("encoding=delimited").
//
// Prometheus ingests native histograms only from this format, and a
// scrape is answered in one format: when Negotiated says the scraper
// wants protobuf, every family goes out as protobuf. Writer.Text
// converts the text exposition (format 0.0.4) the sink already holds,
// one family at a time, and Writer.Histogram adds the latency histograms,
// native and classic in the same message. AppendTextHistogram is the
// text form of the same histograms, for scrapes that take text.
//
// The messages are encoded by hand with protowire, field by field as
// metrics.proto numbers them: a family is built in one buffer the Writer
// keeps and reuses, so its memory is that of the largest family written,
// not that of the exposition.
package promproto
