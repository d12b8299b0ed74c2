# SPDX-License-Identifier: Apache-2.0
# The fault tests (binderyd killed, broker restarted, app stopped) count records over minutes.
set_tests_properties(tst_kafka_binding PROPERTIES TIMEOUT 1200)
# kafka/kafka_it.h holds the test class's QObject base (KafkaTestCase): listed so that AUTOMOC
# runs moc on it.
target_sources(tst_kafka_binding PRIVATE kafka/kafka_it.h)
