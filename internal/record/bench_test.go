package record

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkOpen is what a consumer does with a record of 4 show stat
// replies of 10 000 servers each (about 4 MB apiece): check it at
// receipt and read one reply, the last (which version 1 reaches after
// the others), in version 2 and version 1 (Open+File); one more reply
// read from a record already checked, as the consumer reads each of its
// replies (File). Besides time and allocations, each
// reports the record's size, and the inflations and bytes inflated per
// op.
func BenchmarkOpen(b *testing.B) {
	r := statRecord(b, 4, 10000)
	const name = "admin4.sock_stat"
	read := func(b *testing.B, rd *Reader) {
		rc, err := rd.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
	// run runs op, which returns the inflations it made and the bytes
	// it inflated, and reports them per op.
	run := func(b *testing.B, rec []byte, op func(b *testing.B) (inflations, inflated int64)) {
		b.ReportAllocs()
		var inflations, inflated int64
		for b.Loop() {
			n, bytes := op(b)
			inflations += n
			inflated += bytes
		}
		b.ReportMetric(float64(len(rec)), "record-B")
		b.ReportMetric(float64(inflations)/float64(b.N), "inflations/op")
		b.ReportMetric(float64(inflated)/float64(b.N), "inflated-B/op")
	}
	for _, v := range versions {
		rec := mustEncode(b, v.encode, r)
		b.Run(v.name+"/Open+File", func(b *testing.B) {
			run(b, rec, func(b *testing.B) (int64, int64) {
				rd, err := Open(bytes.NewReader(rec), int64(len(rec)))
				if err != nil {
					b.Fatal(err)
				}
				read(b, rd)
				return rd.Inflations(), rd.inflated.Load()
			})
		})
		b.Run(v.name+"/File", func(b *testing.B) {
			rd, err := Open(bytes.NewReader(rec), int64(len(rec)))
			if err != nil {
				b.Fatal(err)
			}
			run(b, rec, func(b *testing.B) (int64, int64) {
				n, before := rd.Inflations(), rd.inflated.Load()
				read(b, rd)
				return rd.Inflations() - n, rd.inflated.Load() - before
			})
		})

	}
}
