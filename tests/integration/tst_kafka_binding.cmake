# SPDX-License-Identifier: Apache-2.0
# The fault tests (binderyd killed, broker restarted, app stopped) count records over minutes.
set_tests_properties(tst_kafka_binding PROPERTIES TIMEOUT 1200)
