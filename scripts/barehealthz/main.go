// Command barehealthz is the benchmarks' fixed reference: a bare Go
// net/http server answering GET /healthz with 200 "ok" and nothing else (no
// router, no middleware). Each scripts/bench-*.sh starts one beside the
// portal it measures, so every figure is printed as a ratio to what plain
// net/http does on the same cores in the same run.
//
//	barehealthz -addr-file FILE   listen on a free loopback port, write "127.0.0.1:PORT" to FILE
//	barehealthz -addr 127.0.0.1:PORT
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	addrFile := flag.String("addr-file", "", "write the address listened on to this file")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "barehealthz:", err)
		os.Exit(1)
	}
	if *addrFile != "" {
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "barehealthz:", err)
			os.Exit(1)
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			fmt.Fprintln(os.Stderr, "barehealthz:", err)
			os.Exit(1)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "barehealthz:", err)
		os.Exit(1)
	}
}
