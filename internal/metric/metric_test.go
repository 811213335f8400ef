package metric

import "testing"

func TestAppendValue(t *testing.T) {
	f := func(v float64, want string) {
		t.Helper()
		if got := string(AppendValue(nil, v)); got != want {
			t.Errorf("AppendValue(%v) = %q, want %q", v, got, want)
		}
	}
	f(0, "0")
	f(450, "450")
	f(-3, "-3")
	f(87.5, "87.5")
	f(10.606601717798213, "10.606601717798213")
	f(1e16, "10000000000000000")
	f(1.5e-05, "0.000015")
	f(1e22, "10000000000000000000000")
	a, b := 0.1, 0.2
	f(a+b, "0.30000000000000004")
}

func TestAppendLine(t *testing.T) {
	m := Metric{Path: "a.b.c", Value: 2.5, Time: 1500000000}
	if got, want := string(m.AppendLine(nil)), "a.b.c 2.5 1500000000\n"; got != want {
		t.Errorf("AppendLine = %q, want %q", got, want)
	}
	if got, want := m.String(), "a.b.c 2.5 1500000000"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestPrefix(t *testing.T) {
	f := func(ns string, ph, fqdn bool, host, want string) {
		t.Helper()
		if got := Prefix(ns, ph, fqdn, host); got != want {
			t.Errorf("Prefix(%q, %v, %v, %q) = %q, want %q", ns, ph, fqdn, host, got, want)
		}
	}
	f("loadbalancers", true, true, "lb-01.example.com", "loadbalancers.lb-01_example_com.haproxy")
	f("loadbalancers", true, false, "lb-01.example.com", "loadbalancers.lb-01.haproxy")
	f("loadbalancers", false, true, "lb-01.example.com", "loadbalancers.haproxy")
	f("a.b", true, true, "lb", "a.b.lb.haproxy")
	f("", true, true, "lb", ".lb.haproxy")
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"www.example.com:80-x": "www_example_com:80-x", // HAProxy's name set: only dots change
		"Be_1-a:b":             "Be_1-a:b",
		"a b\tc\rd\ne\x00f":    "a_b_c_d_e_f",
		"q\"u'o\\t/e,s;":       "q_u_o_t_e_s_",
		"caf\xc3\xa9\xff":      "caf___", // bytes, not runes: no invalid UTF-8 survives
		"":                     "",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
