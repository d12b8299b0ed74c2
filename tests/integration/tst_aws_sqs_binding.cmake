# SPDX-License-Identifier: Apache-2.0
# bindings.aws.sqs against moto with signature checking (scripts/services start sqs), checked from
# the other side with boto3 from the end-to-end venv (issue 11). Also runs an in-process sidecar.
target_link_libraries(tst_aws_sqs_binding PRIVATE bindery_sidecar bindery_bindings)
set_tests_properties(tst_aws_sqs_binding PROPERTIES TIMEOUT 1800)
set_property(TEST tst_aws_sqs_binding APPEND PROPERTY ENVIRONMENT QTEST_FUNCTION_TIMEOUT=1600000)
