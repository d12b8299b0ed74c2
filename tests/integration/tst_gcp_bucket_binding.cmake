# SPDX-License-Identifier: Apache-2.0
# tst_gcp_bucket_binding also runs the binding in-process (bindery_bindings) and verifies JWTs in its
# token endpoint (OpenSSL); its 200 MiB round trips through fake-gcs-server need more than 600 s on
# a loaded machine.
target_sources(tst_gcp_bucket_binding PRIVATE gcs/gcs_test_peers.h)
target_link_libraries(tst_gcp_bucket_binding PRIVATE bindery_bindings OpenSSL::Crypto)
set_tests_properties(tst_gcp_bucket_binding PROPERTIES TIMEOUT 900)
