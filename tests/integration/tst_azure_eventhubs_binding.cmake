# SPDX-License-Identifier: Apache-2.0
# kafka/kafka_it.h holds the test class's QObject base (KafkaTestCase): listed so that AUTOMOC
# runs moc on it.
target_sources(tst_azure_eventhubs_binding PRIVATE kafka/kafka_it.h)
