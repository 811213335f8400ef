package logrecv

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// putCmsg writes a control message of level, typ and data at b's start
// and returns the bytes it took, aligned.
func putCmsg(b []byte, level, typ int32, data []byte) int {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return unix.CmsgSpace(len(data))
}

func drops(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// TestDeliverCounts gives deliver batches as the kernel fills them: the
// drop counter it reports (wrapping at 2³²), and truncated datagrams.
func TestDeliverCounts(t *testing.T) {
	s := &socket{fd: -1}
	r := newReceiver(s, 3, -1, nil)
	var got []string
	h := func(msg []byte) { got = append(got, string(msg)) }
	batch := func(counters []uint32, lens []int, truncated []bool) {
		t.Helper()
		for i := range counters {
			m := &r.msgs[i]
			copy(r.bufs[i*MaxDatagram:], "datagram")
			m.Len = uint32(lens[i])
			m.Hdr.SetControllen(0)
			if counters[i] != 0 { // the kernel sends none while the counter is 0
				m.Hdr.SetControllen(putCmsg(r.ctrl[i*ctrlSize:], unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops(counters[i])))
			}
			if truncated[i] {
				m.Hdr.Flags = unix.MSG_TRUNC
			}
		}
		r.n = len(counters)
		r.deliver(h)
	}
	batch([]uint32{0, 0, 5}, []int{8, 0, 4}, []bool{false, false, false})
	batch([]uint32{5, 0xffff_fff0, 0xffff_fff0}, []int{8, MaxDatagram, 3}, []bool{false, true, false})
	batch([]uint32{0x10}, []int{1}, []bool{false})
	want := Counters{Received: 7, Dropped: 1<<32 + 0x10, Truncated: 1} // the counter wrapped once
	c := Counters{Received: s.received.Load(), Dropped: s.dropped.Load(), Truncated: s.truncated.Load()}
	if c != want {
		t.Errorf("counters = %+v, want %+v", c, want)
	}
	wantMsgs := []string{"datagram", "", "data", "datagram", "dat", "d"}
	if len(got) != len(wantMsgs) {
		t.Fatalf("handed %q, want %q", got, wantMsgs)
	}
	for i := range got {
		if got[i] != wantMsgs[i] {
			t.Errorf("datagram %d = %q, want %q", i, got[i], wantMsgs[i])
		}
	}
	for i := range r.msgs {
		if r.msgs[i].Hdr.Controllen != uint64(ctrlSize) || r.msgs[i].Hdr.Flags != 0 {
			t.Errorf("message %d not reset for the next batch: %+v", i, r.msgs[i].Hdr)
		}
	}
}

// TestControlGarbage checks that control reads any bytes without
// reading past them.
func TestControlGarbage(t *testing.T) {
	r := newReceiver(&socket{fd: -1}, 1, -1, nil)
	b := make([]byte, 64)
	n := putCmsg(b, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops(7))
	for cut := range n + 1 {
		r.drops = 0
		r.control(b[:cut])
		if cut == n && r.drops != 7 || cut < unix.CmsgLen(4) && r.drops != 0 {
			t.Errorf("control of %d of %d bytes: drops %d", cut, n, r.drops)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_RIGHTS {
			continue // the kernel's word: control would close what it names
		}
		h.SetLen(int(rng.IntN(80))) // lengths around the buffer's, the rest garbage
		r.control(b[:rng.IntN(len(b)+1)])
	}
}
