// A reference producer for the benchmark's side-by-side HTTP figure (bench/http.ts): what a
// straightforward Go service does for the same job as driftless's single-key enqueue. Per request
// it reads and validates the JSON body, runs the same enqueue script on the same Redis keys
// (shared/redis/lua), one call per request, and answers 202 with the counts once Redis has
// answered. It has no API key, no metrics, no tracing and no merging of requests.
//
// Configuration by environment: PORT, REDIS_ADDR, SCRIPT (the Lua file), KEYS (the script's keys,
// comma-separated), MAX_ITEMS.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

type item struct {
	ID string          `json:"id"`
	PK json.RawMessage `json:"pk"`
}

type body struct {
	Items []item   `json:"items"`
	IDs   []string `json:"ids"`
}

func main() {
	source, err := os.ReadFile(os.Getenv("SCRIPT"))
	if err != nil {
		log.Fatalf("reading the enqueue script: %v", err)
	}
	keys := strings.Split(os.Getenv("KEYS"), ",")
	maxItems, err := strconv.Atoi(os.Getenv("MAX_ITEMS"))
	if err != nil || maxItems < 1 {
		log.Fatalf("MAX_ITEMS must be a positive integer")
	}
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR"), PoolSize: 64})
	script := redis.NewScript(string(source))
	if err := script.Load(context.Background(), client).Err(); err != nil {
		log.Fatalf("loading the enqueue script: %v", err)
	}

	http.HandleFunc("POST /api/sources/{source}/enqueue", func(w http.ResponseWriter, r *http.Request) {
		text, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			answer(w, http.StatusBadRequest, `{"error":{"code":"bad_body"}}`)
			return
		}
		var parsed body
		if err := json.Unmarshal(text, &parsed); err != nil {
			answer(w, http.StatusBadRequest, `{"error":{"code":"invalid_json"}}`)
			return
		}
		members := make([]any, 0, 3+len(parsed.Items)+len(parsed.IDs))
		members = append(members, time.Now().UnixMilli(), 0, "live")
		for _, it := range parsed.Items {
			if it.ID == "" || len(it.PK) == 0 {
				answer(w, http.StatusBadRequest, `{"error":{"code":"invalid_body"}}`)
				return
			}
			id, _ := json.Marshal(it.ID)
			members = append(members, "["+string(id)+","+string(it.PK)+"]")
		}
		for _, value := range parsed.IDs {
			id, _ := json.Marshal(value)
			members = append(members, "["+string(id)+","+string(id)+"]")
		}
		count := len(members) - 3
		if count == 0 || count > maxItems {
			answer(w, http.StatusBadRequest, `{"error":{"code":"bad_count"}}`)
			return
		}
		reply, err := script.EvalSha(r.Context(), client, keys, members...).Slice()
		if err != nil || len(reply) < 2 {
			answer(w, http.StatusServiceUnavailable, `{"error":{"code":"redis_unavailable"}}`)
			return
		}
		answer(w, http.StatusAccepted, fmt.Sprintf(`{"enqueued":%v,"duplicates":%v}`, reply[0], reply[1]))
	})

	listener, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening")
	log.Fatal(http.Serve(listener, nil))
}

func answer(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}
