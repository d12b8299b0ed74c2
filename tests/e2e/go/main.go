// SPDX-License-Identifier: Apache-2.0

// The official Dapr Go SDK's client against binderyd's gRPC API (issue 15): InvokeBinding
// create/get/list/delete on the localstorage binding "files" (rootPath given as the first
// argument), a failing call with daprd's status and ErrorInfo, and GetMetadata. The client finds
// binderyd through DAPR_GRPC_PORT, as it finds daprd. Prints one line per check; exits 1 on the
// first failure.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func fail(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func invoke(c dapr.Client, op string, data []byte, md map[string]string) *dapr.BindingEvent {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.InvokeBinding(ctx, &dapr.InvokeBindingRequest{Name: "files", Operation: op, Data: data, Metadata: md})
	if err != nil {
		fail("%s: %v", op, err)
	}
	return out
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: dapr-go-client <localstorage rootPath>")
	}
	store := os.Args[1]
	c, err := dapr.NewClient()
	if err != nil {
		fail("NewClient: %v", err)
	}
	defer c.Close()

	payload := []byte("go sdk \x00\xff raw")
	out := invoke(c, "create", payload, map[string]string{"fileName": "go.bin"})
	if !bytes.Equal(out.Data, []byte(`{"fileName":"go.bin"}`)) {
		fail("create answered %q", out.Data)
	}
	if b, err := os.ReadFile(filepath.Join(store, "go.bin")); err != nil || !bytes.Equal(b, payload) {
		fail("the file holds %q (%v), sent %q", b, err, payload)
	}
	fmt.Println("ok create: raw bytes stored")

	out = invoke(c, "get", nil, map[string]string{"fileName": "go.bin"})
	if !bytes.Equal(out.Data, payload) {
		fail("get returned %q", out.Data)
	}
	fmt.Println("ok get")

	out = invoke(c, "list", nil, nil)
	var listed []string
	if err := json.Unmarshal(out.Data, &listed); err != nil || len(listed) != 1 || listed[0] != filepath.Join(store, "go.bin") {
		fail("list returned %q (%v)", out.Data, err)
	}
	fmt.Println("ok list")

	invoke(c, "delete", nil, map[string]string{"fileName": "go.bin"})
	if _, err := os.Stat(filepath.Join(store, "go.bin")); !os.IsNotExist(err) {
		fail("delete left the file (%v)", err)
	}
	fmt.Println("ok delete")

	// daprd: INTERNAL, "error invoking output binding <name>: <err>", ErrorInfo in dapr.io.
	_, err = c.InvokeBinding(context.Background(), &dapr.InvokeBindingRequest{Name: "files", Operation: "get", Metadata: map[string]string{"fileName": "go.bin"}})
	// The SDK wraps the call's error ("error invoking binding files/get: %w"): take the status
	// binderyd sent.
	var grpcErr interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &grpcErr) {
		fail("get of a deleted file: %v", err)
	}
	st := grpcErr.GRPCStatus()
	if st.Code() != codes.Internal || !strings.HasPrefix(st.Message(), "error invoking output binding files: ") {
		fail("get of a deleted file: %v", err)
	}
	var reasons []string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reasons = append(reasons, info.GetDomain()+"/"+info.GetReason())
		}
	}
	if len(reasons) != 1 || reasons[0] != "dapr.io/ERR_INVOKE_OUTPUT_BINDING" {
		fail("error details: %v", reasons)
	}
	fmt.Println("ok failure: INTERNAL with ErrorInfo dapr.io/ERR_INVOKE_OUTPUT_BINDING")

	md, err := c.GetMetadata(context.Background())
	if err != nil {
		fail("GetMetadata: %v", err)
	}
	var names []string
	for _, comp := range md.RegisteredComponents {
		names = append(names, comp.Name+"="+comp.Type)
	}
	sort.Strings(names)
	if md.ID != "go-e2e" || strings.Join(names, ",") != "files=bindings.localstorage" {
		fail("GetMetadata: id %q, components %v", md.ID, names)
	}
	fmt.Println("ok metadata")
	fmt.Println("PASS")
}
