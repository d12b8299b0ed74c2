// SPDX-License-Identifier: Apache-2.0
// Writes vectors.json: what Go's standard library answers for the inputs tst_gcp_go_compat feeds
// Bindery's ports (core/bindings/gcp_bucket/go_compat.h), so the expectations are Go's own output.
// Regenerate: cd tests/data/gcs-go-compat && go run gen.go > vectors.json
package main

import (
	"bytes"
	b64 "encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

type result struct {
	In  string `json:"in"`            // base64 of the input bytes (or the text, for text inputs)
	Out string `json:"out,omitempty"` // base64 of the output bytes, or the text
	Err string `json:"err,omitempty"`
}

func enc(b []byte) string { return b64.StdEncoding.EncodeToString(b) }

// writeOnly hides bytes.Buffer's ReadFrom, as storage.Writer has none.
type writeOnly struct{ w io.Writer }

func (o writeOnly) Write(p []byte) (int, error) { return o.w.Write(p) }

func main() {
	out := map[string][]result{}

	unquote := []string{`"hello"`, `"a\nb\t\"q\"\\"`, `"\u00e9\U0001F600\x41\101"`, `"\u003cx\u003e"`,
		`"\ud800"`, `'x'`, `'xy'`, "`raw\r\ntext`", `"unterminated`, `"a"b"`, `"bad \q"`,
		"\"raw\nnewline\"", `""`, `hello`, `"\xff\xfe"`, "\"\xff\\n\"", "\"\xc3\xa9\"", `"\'"`, `'\"'`, `12.5`, `null`}
	for _, s := range unquote {
		r := result{In: enc([]byte(s))}
		if u, err := strconv.Unquote(s); err != nil {
			r.Err = err.Error()
		} else {
			r.Out = enc([]byte(u))
		}
		out["unquote"] = append(out["unquote"], r)
	}

	long := bytes.Repeat([]byte("QUJD"), 400) // 1600 bytes: spans the decoder's 1024-byte window
	base64s := [][]byte{[]byte("aGVsbG8="), []byte("aGVs\nbG8=\r\n"), []byte("aGVsbG8"), []byte("!!!!"),
		[]byte("aGk=aGk="), []byte("a==="), []byte("aG=a"), []byte("aG="), []byte(""), []byte("\n\n"),
		[]byte("aGVsbG8gYmluYXJ5"), append(append([]byte{}, long...), []byte("QU=!")...),
		append(append([]byte{}, long...), []byte("@")...), []byte("AAEC/w==")}
	for _, s := range base64s {
		r := result{In: enc(s)}
		// daprd: io.Copy(storageWriter, base64.NewDecoder(base64.StdEncoding, bytes.NewReader(data)));
		// the storage Writer has no ReadFrom, so io.Copy reads through its 32 KiB buffer.
		var got bytes.Buffer
		_, err := io.Copy(writeOnly{&got}, b64.NewDecoder(b64.StdEncoding, bytes.NewReader(s)))
		r.Out = enc(got.Bytes())
		if err != nil {
			r.Err = err.Error()
		}
		out["base64"] = append(out["base64"], r)
	}

	sniff := [][]byte{[]byte("hello"), []byte(""), []byte("  <html><body>"), []byte("<?xml version"),
		{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0}, {0xFF, 0xD8, 0xFF, 0xE0}, []byte("GIF89a..."),
		[]byte("%PDF-1.4"), {0x1F, 0x8B, 0x08, 0}, []byte("PK\x03\x04rest"), {0, 1, 2, 3, 4},
		[]byte("{\"a\":1}"), []byte("\xEF\xBB\xBFbom"), []byte("RIFF\x00\x00\x00\x00WEBPVP8 "),
		[]byte("ID3\x03"), {0x00, 0x00, 0x00, 0x18, 'f', 't', 'y', 'p', 'm', 'p', '4', '2', 0, 0, 0, 0, 'm', 'p', '4', '1', 'i', 's', 'o', 'm'},
		[]byte("<!DOCTYPE html>"), []byte("<P>para"), []byte("\x00\x61\x73\x6D")}
	for _, s := range sniff {
		out["sniff"] = append(out["sniff"], result{In: enc(s), Out: http.DetectContentType(s)})
	}

	durations := []string{"15m", "1h30m", "1.5s", "-2m", "+3s", "0", "", "15", "1d", ".5m", "1e3s",
		"2562047h47m16.854775807s", "2562048h", "100µs", "3μs", "1h2m3s4ms5us6ns", "abc", "1m x"}
	for _, s := range durations {
		r := result{In: s}
		if d, err := time.ParseDuration(s); err != nil {
			r.Err = err.Error()
		} else {
			r.Out = strconv.FormatInt(int64(d), 10)
		}
		out["duration"] = append(out["duration"], r)
	}

	keys := []string{"a/b.txt", "a b (1).txt", "it's(1).txt", "x?y=1", "x#frag", "x#fr ag", "100%",
		"%41%42", "%zz", "caf\u00e9", "a+b&c=d;e,f:g@h$i", "tab\tkey", "[brackets]", "q?", "a*b!c"}
	for _, k := range keys {
		r := result{In: k}
		u, err := url.Parse("https://storage.googleapis.com/bucket/" + k)
		if err != nil {
			r.Err = err.Error()
		} else {
			r.Out = u.String()
		}
		out["url"] = append(out["url"], r)
	}

	type listPayload struct {
		Prefix     string `json:"prefix"`
		MaxResults int32  `json:"maxResults"`
		Delimiter  string `json:"delimiter"`
	}
	payloads := []string{`{"prefix":"a/","maxResults":5,"delimiter":"/"}`, `null`, `{}`, `"abc"`, `[1]`,
		`{"maxResults":"2"}`, `{"maxResults":1.5}`, `{"maxResults":3000000000}`, `{"maxResults":-7}`,
		`{"PREFIX":"x","MaxResults":2}`, `{"prefix":5}`, `{"prefix":null}`, ``, `{"prefix":"a"} x`,
		`{"prefix":`, `true`, `{"delimiter":{}}`, `{"unknown":1}`}
	for _, s := range payloads {
		r := result{In: s}
		var p listPayload
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			r.Err = err.Error()
		} else {
			b, _ := json.Marshal(map[string]any{"prefix": p.Prefix, "maxResults": p.MaxResults, "delimiter": p.Delimiter})
			r.Out = string(b)
		}
		out["unmarshal"] = append(out["unmarshal"], r)
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.Encode(out)
}
