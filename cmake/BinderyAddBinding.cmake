# SPDX-License-Identifier: Apache-2.0
# bindery_add_binding(NAME <n> FUNCTION <registerFn> SOURCES ... [METADATA metadata.yaml] [LIBS ...])
# Builds bindery_binding_<n> and records it for the generated builtin_bindings.cpp.
set_property(GLOBAL PROPERTY BINDERY_BINDINGS "")
set_property(GLOBAL PROPERTY BINDERY_BINDING_FUNCTIONS "")

function(bindery_add_binding)
    cmake_parse_arguments(ARG "" "NAME;FUNCTION;METADATA" "SOURCES;LIBS" ${ARGN})
    if(ARG_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "bindery_add_binding: unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
    endif()
    set(target bindery_binding_${ARG_NAME})
    add_library(${target} STATIC ${ARG_SOURCES})
    target_link_libraries(${target} PRIVATE bindery_options PUBLIC bindery_core ${ARG_LIBS})
    target_compile_definitions(${target} PRIVATE QT_NO_KEYWORDS)
    if(ARG_METADATA)
        qt_add_resources(${target} "${ARG_NAME}_meta"
            PREFIX "/bindings/${ARG_NAME}" FILES ${ARG_METADATA})
    endif()
    set_property(GLOBAL APPEND PROPERTY BINDERY_BINDINGS ${target})
    set_property(GLOBAL APPEND PROPERTY BINDERY_BINDING_FUNCTIONS ${ARG_FUNCTION})
endfunction()
