# SPDX-License-Identifier: Apache-2.0
# bindery_add_test(NAME tst_x SOURCES ... LIBS ... [LABELS ...] [GUI] [TIMEOUT s] [ENVIRONMENT ...])
# `bindery_core_tests` builds every test labelled "core" (the asan-core preset builds just those).
add_custom_target(bindery_core_tests)

function(bindery_add_test)
    cmake_parse_arguments(ARG "GUI" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ENVIRONMENT" ${ARGN})
    if(ARG_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "bindery_add_test: unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
    endif()
    add_executable(${ARG_NAME} ${ARG_SOURCES})
    target_link_libraries(${ARG_NAME} PRIVATE bindery_options Qt6::Test ${ARG_LIBS})
    set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
    set(env "BINDERY_SOURCE_DIR=${PROJECT_SOURCE_DIR}" "BINDERY_BIN_DIR=${CMAKE_BINARY_DIR}/bin" ${ARG_ENVIRONMENT})
    if(ARG_GUI)
        list(APPEND env "QT_QPA_PLATFORM=offscreen")
    endif()
    set(timeout 120)
    if(ARG_TIMEOUT)
        set(timeout ${ARG_TIMEOUT})
    endif()
    if("core" IN_LIST ARG_LABELS)
        add_dependencies(bindery_core_tests ${ARG_NAME})
    endif()
    # One test at a time on the shared servers (some restart them): every test holds the
    # "bindery-serial" lock, except one that names its own (the SQS test, bound by its emulator's
    # single core, runs beside the rest; see scripts/test).
    set_tests_properties(${ARG_NAME} PROPERTIES
        LABELS "${ARG_LABELS}" TIMEOUT ${timeout} ENVIRONMENT "${env}"
        RESOURCE_LOCK bindery-serial)
endfunction()
