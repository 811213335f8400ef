package stats

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The layout of HAProxy 2.6's show stat reply and one row of each kind,
// from a real capture (testdata/hap26).
const (
	hap26Header   = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,"
	hap26Frontend = "www.example.com,FRONTEND,,,0,1,9985,12,984,2604,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,,,0,0,0,0,12,0,,0,1,12,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,1,12,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,12,12,948,2568,0,0,"
	hap26Server   = "app,app1,0,0,0,1,,24,492,1302,,0,,6,0,18,0,no check,1,1,0,,,61,,,1,4,1,,6,,2,0,,1,,,,0,0,0,0,0,0,,,,0,0,0,,,,,12,,,0,0,0,0,,,,,,,,,,,,,,http,,,,,,,,0,24,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,"
	hap26Backend  = "app,BACKEND,0,0,0,1,999,12,984,2604,0,0,,12,0,36,0,UP,2,2,0,,0,61,0,,1,4,0,,12,,1,0,,1,,,,0,0,0,0,12,0,,,,12,0,0,0,0,0,0,6,,,0,0,0,0,,,,,,,,,,,,,,http,,,,,,,,0,48,0,0,0,,,0,0,0,0,0,,,,,2,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,48,48,0,0,0,0,"
)

// GenerateStat returns procs show stat replies in HAProxy 2.6's layout,
// one per process, with the same proxies and servers in each and
// plausible random numbers, for benchmarks and load tests. Frontends are
// named fe<i>.example.com, backends be<i>, servers b<i>-s<j>.dc1 (so both
// need sanitising and server names are unique across backends). About one
// server in ten has no traffic in a given process (lbtot 0). The same
// arguments always give the same bytes.
func GenerateStat(procs, frontends, backends, serversPerBackend int, seed int64) [][]byte {
	cols := strings.Split(strings.TrimPrefix(hap26Header, "# "), ",")
	fe := strings.Split(hap26Frontend, ",")
	srv := strings.Split(hap26Server, ",")
	be := strings.Split(hap26Backend, ",")
	out := make([][]byte, procs)
	for p := range procs {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(p)))
		var b bytes.Buffer
		b.Grow((frontends + backends*(serversPerBackend+1)) * len(hap26Server) * 3 / 2)
		b.WriteString(hap26Header)
		b.WriteByte('\n')
		row := func(tmpl []string, px, sv string, iid, sid int, traffic bool) {
			for i, col := range cols {
				if i > 0 {
					b.WriteByte(',')
				}
				cell := tmpl[i]
				switch col {
				case "pxname":
					cell = px
				case "svname":
					cell = sv
				case "pid":
					cell = strconv.Itoa(p + 1)
				case "iid":
					cell = strconv.Itoa(iid)
				case "sid":
					cell = strconv.Itoa(sid)
				case "", "type", "weight", "act", "bck", "uweight", "qlimit", "throttle", "tracked",
					"check_rise", "check_fall", "check_health", "agg_server_status",
					"agg_server_check_status", "agg_check_status", "lastsess":
				case "lbtot":
					if cell != "" && !traffic {
						cell = "0"
					} else if cell != "" {
						cell = strconv.Itoa(1 + rng.IntN(1_000_000))
					}
				default:
					if _, err := strconv.Atoi(cell); err == nil {
						cell = strconv.Itoa(rng.IntN(scale(col)))
					}
				}
				b.WriteString(cell)
			}
			b.WriteByte('\n')
		}
		for i := range frontends {
			row(fe, "fe"+strconv.Itoa(i)+".example.com", "FRONTEND", i+2, 0, true)
		}
		for i := range backends {
			px := "be" + strconv.Itoa(i)
			iid := frontends + i + 2
			for j := range serversPerBackend {
				row(srv, px, "b"+strconv.Itoa(i)+"-s"+strconv.Itoa(j)+".dc1", iid, j+1, rng.IntN(10) != 0)
			}
			row(be, px, "BACKEND", iid, 0, true)
		}
		b.WriteByte('\n')
		out[p] = b.Bytes()
	}
	return out
}

// scale is the exclusive upper bound of the random values of a column.
func scale(col string) int {
	switch {
	case col == "bin" || col == "bout" || strings.HasPrefix(col, "h1_bytes"):
		return 1 << 40
	case strings.HasSuffix(col, "tot") || strings.HasPrefix(col, "hrsp_") || col == "connect" || col == "reuse":
		return 10_000_000
	case strings.HasSuffix(col, "time") || strings.HasSuffix(col, "time_max") || col == "lastchg":
		return 5000
	case col == "slim" || col == "rate_lim":
		return 100_000
	}
	return 1000
}
