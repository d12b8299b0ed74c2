// SPDX-License-Identifier: Apache-2.0
// The official Dapr JS SDK's DaprServer is the app: binderyd probes it (the SDK answers the
// OPTIONS probe) and delivers cron events to its binding.receive callback (issue 2).
import dapr from "@dapr/dapr";
import { check, freePort, run, startBinderyd, stopBinderyd, tempDir, writeComponent } from "./common.mjs";

const { DaprServer, CommunicationProtocolEnum } = dapr;

run("js_input_binding", async () => {
  const components = tempDir("bindery-e2e-js-in-");
  writeComponent(components, "tick", "bindings.cron", { schedule: "@every 1s" });
  const daprPort = await freePort();
  const appPort = await freePort();
  const d = await startBinderyd([
    "--app-id", "js-e2e-in", "--app-port", String(appPort), "--dapr-http-port", String(daprPort),
    "--resources-path", components,
  ]);
  let server = null;
  try {
    const received = [];
    server = new DaprServer({
      serverHost: "127.0.0.1",
      serverPort: String(appPort),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      clientOptions: { daprHost: "127.0.0.1", daprPort: String(daprPort) },
    });
    await server.binding.receive("tick", async (data) => {
      received.push({ at: Date.now(), data });
    });
    await server.start();
    const deadline = Date.now() + 15000;
    while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    check(received.length >= 3, `3 cron events reach the SDK callback within 15 s, got ${received.length}\n${d.log()}`);
    const gap = received[2].at - received[1].at;
    check(gap > 500 && gap < 1600, `ticks are about 1 s apart (${gap} ms)`);
    check(/OPTIONS \/tick answered 200/.test(d.log()) || /input binding tick is reading/.test(d.log()),
          `binderyd logs the subscription:\n${d.log()}`);
  } finally {
    if (server) await server.stop().catch(() => {});
    await stopBinderyd(d);
  }
});
