// What nats-server's Go reads from a consumer-create body: one body per input
// line (base64), one JSON answer per output line. The struct has the fields
// src/auth/jetstream.ts checks, with the tags nats-server 2.9 gives them, so
// encoding/json matches keys to them exactly as the hub does. Used by
// test/fuzz/go_json_diff.ts; needs only Go's standard library.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
)

type consumerConfig struct {
	DeliverSubject string   `json:"deliver_subject,omitempty"`
	DeliverGroup   string   `json:"deliver_group,omitempty"`
	FilterSubject  string   `json:"filter_subject,omitempty"`
	FilterSubjects []string `json:"filter_subjects,omitempty"`
	AckPolicy      string   `json:"ack_policy"`
}

type createRequest struct {
	Stream string         `json:"stream_name"`
	Config consumerConfig `json:"config"`
}

type answer struct {
	Ok      bool     `json:"ok"`
	Err     string   `json:"err,omitempty"`
	Deliver string   `json:"deliver"`
	Group   string   `json:"group"`
	Filter  string   `json:"filter"`
	Filters []string `json:"filters"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		body, err := base64.StdEncoding.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad input line:", err)
			os.Exit(2)
		}
		var r createRequest
		a := answer{}
		if err := json.Unmarshal(body, &r); err != nil {
			a.Err = err.Error()
		} else {
			a = answer{Ok: true, Deliver: r.Config.DeliverSubject, Group: r.Config.DeliverGroup, Filter: r.Config.FilterSubject, Filters: r.Config.FilterSubjects}
		}
		line, _ := json.Marshal(a)
		fmt.Fprintln(out, string(line))
	}
}
