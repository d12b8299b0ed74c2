// SPDX-License-Identifier: Apache-2.0
// Issue 4, end to end: the official Dapr JS SDK's binding.send produces a Kafka record through
// binderyd. Driven by tests/integration/tst_kafka_binding.cpp (jsSdkBindingSendProduces), which
// starts binderyd and reads the record back with kcat.
// Usage: DAPR_HTTP_PORT=<port> node kafka_js_sdk_send.mjs <binding> <runId>
import { DaprClient, CommunicationProtocolEnum } from "@dapr/dapr";

const [binding, runId] = process.argv.slice(2);
const client = new DaprClient({
  daprHost: "127.0.0.1",
  daprPort: process.env.DAPR_HTTP_PORT,
  communicationProtocol: CommunicationProtocolEnum.HTTP,
});
try {
  const result = await client.binding.send(binding, "create", { message: "Hi from the JS SDK", runId },
    { partitionKey: "js-key", source: "js-sdk" });
  console.log(JSON.stringify({ ok: true, result }));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) }));
  process.exit(1);
}
