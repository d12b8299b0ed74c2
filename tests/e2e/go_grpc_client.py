# SPDX-License-Identifier: Apache-2.0
"""The official Dapr Go SDK (github.com/dapr/go-sdk v1.11.0, the newest release the Go module proxy
serves here) against binderyd's gRPC API (issue 15): runs the client built from tests/e2e/go by
`scripts/install-deps extras` beside a real binderyd. The checks are in tests/e2e/go/main.go."""
import os
import subprocess
import sys
import tempfile

from e2e_common import Binderyd, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "go", "bin", "dapr-go-client")


def main():
    folder = tempfile.mkdtemp(prefix="bindery-e2e-go-")
    store = os.path.join(folder, "store")
    components = os.path.join(folder, "components")
    os.makedirs(store)
    os.makedirs(components)
    with open(os.path.join(components, "files.yaml"), "w") as f:
        f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: files\nspec:\n"
                f"  type: bindings.localstorage\n  version: v1\n  metadata:\n  - name: rootPath\n"
                f"    value: \"{store}\"\n")
    http_port, grpc_port = free_port(), free_port()
    d = Binderyd(["--app-id", "go-e2e", "--dapr-http-port", str(http_port), "--dapr-grpc-port",
                  str(grpc_port), "--resources-path", components], http_port)
    try:
        run = subprocess.run([CLIENT, store], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "DAPR_GRPC_PORT": str(grpc_port)})
    finally:
        rc = d.stop()
    print(run.stdout, end="")
    if run.returncode != 0 or not run.stdout.rstrip().endswith("PASS"):
        print(f"go_grpc_client: FAIL: the Go client exited with {run.returncode}\n{run.stderr}"
              f"--- binderyd log ---\n{d.log()}", file=sys.stderr)
        return 1
    if rc != 0:
        print(f"go_grpc_client: FAIL: binderyd exited with {rc}\n{d.log()}", file=sys.stderr)
        return 1
    print("go_grpc_client: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
