// SPDX-License-Identifier: Apache-2.0
// The official Dapr JS SDK's DaprClient (HTTP) drives binderyd's output binding API on
// bindings.localstorage: create, get, list, delete, and a daprd-shaped error (issue 2).
import fs from "node:fs";
import path from "node:path";
import dapr from "@dapr/dapr";
import { check, equal, freePort, run, startBinderyd, stopBinderyd, tempDir, writeComponent } from "./common.mjs";

const { DaprClient, CommunicationProtocolEnum } = dapr;

run("js_output_binding", async () => {
  const components = tempDir("bindery-e2e-js-out-");
  const root = fs.realpathSync(tempDir("bindery-e2e-js-files-"));
  writeComponent(components, "files", "bindings.localstorage", { rootPath: root });
  const port = await freePort();
  const d = await startBinderyd(["--app-id", "js-e2e", "--dapr-http-port", String(port), "--resources-path", components]);
  try {
    const client = new DaprClient({
      daprHost: "127.0.0.1",
      daprPort: String(port),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
    });
    await client.start();

    const created = await client.binding.send("files", "create", { message: "Hi" }, { fileName: "hello.json" });
    equal(created, { fileName: "hello.json" }, "create answers the file name");
    equal(fs.readFileSync(path.join(root, "hello.json"), "utf8"), '{"message":"Hi"}', "the file holds the re-encoded data");

    const text = await client.binding.send("files", "create", "plain words here", { fileName: "dir/note.txt" });
    equal(text, { fileName: "dir/note.txt" }, "create in a sub-folder");
    equal(fs.readFileSync(path.join(root, "dir/note.txt"), "utf8"), "plain words here", "a JSON string is unquoted");

    const got = await client.binding.send("files", "get", undefined, { fileName: "hello.json" });
    equal(got, { message: "Hi" }, "get answers the bytes (the SDK parses JSON)");

    const listed = await client.binding.send("files", "list", undefined, {});
    check(Array.isArray(listed), `list answers an array: ${JSON.stringify(listed)}`);
    equal([...listed].sort(), [path.join(root, "dir/note.txt"), path.join(root, "hello.json")], "list is recursive and absolute");

    const deleted = await client.binding.send("files", "delete", undefined, { fileName: "hello.json" });
    equal(deleted, "", "delete answers 204 (the SDK gives an empty string)");
    check(!fs.existsSync(path.join(root, "hello.json")), "the file is gone");

    let error = null;
    try {
      await client.binding.send("files", "get", undefined, { fileName: "hello.json" });
    } catch (e) {
      error = e;
    }
    check(error !== null, "get of a deleted file throws");
    const details = JSON.parse(error.message);
    equal(details.status, 500, "a component error is a 500");
    const body = JSON.parse(details.error_msg);
    equal(body.errorCode, "ERR_INVOKE_OUTPUT_BINDING", "daprd's error code");
    check(body.message.startsWith("error invoking output binding files: file not found: "), body.message);

    let unsupported = null;
    try {
      await client.binding.send("files", "explode", {}, {});
    } catch (e) {
      unsupported = JSON.parse(JSON.parse(e.message).error_msg);
    }
    equal(
      unsupported && unsupported.message,
      "error invoking output binding files: binding files does not support operation explode. supported operations:create get delete list",
      "unsupported operation message",
    );
  } finally {
    await stopBinderyd(d);
  }
});
