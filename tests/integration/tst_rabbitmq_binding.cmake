# SPDX-License-Identifier: Apache-2.0
# Checked from the other side with pika (tests/integration/rabbitmq/amqp_peer.py, run with the
# end-to-end venv tests/e2e/.venv) and scripts/services.d/rabbitmqctl; restarts a private broker.
set_tests_properties(tst_rabbitmq_binding PROPERTIES TIMEOUT 900)
