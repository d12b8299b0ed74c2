# SPDX-License-Identifier: Apache-2.0
# bindings.aws.sqs against moto with signature checking (scripts/services start sqs), checked from
# the other side with boto3 from the end-to-end venv (issue 11). Also runs an in-process sidecar.
target_link_libraries(tst_aws_sqs_binding PRIVATE bindery_sidecar bindery_bindings)
# moto spends a core on the 10,000-message test for many minutes while the binding waits: this test
# holds a lock of its own, so that `ctest -j2` (scripts/test) runs it beside the serial chain of
# the others. It uses only its own queues on the shared moto.
set_tests_properties(tst_aws_sqs_binding PROPERTIES TIMEOUT 2400 RESOURCE_LOCK bindery-sqs
    COST 100000) # started first
set_property(TEST tst_aws_sqs_binding APPEND PROPERTY ENVIRONMENT QTEST_FUNCTION_TIMEOUT=1600000)
