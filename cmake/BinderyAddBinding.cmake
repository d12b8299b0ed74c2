# SPDX-License-Identifier: Apache-2.0
# bindery_binding(NAME <folder> SOURCES ...
#                 [PKG_CONFIG <module> ...]      e.g. rdkafka; makes the GLOBAL target PkgConfig::<module>
#                 [FIND_PACKAGE <package> ...]   e.g. OpenSSL; found QUIET, its targets go in LIBS
#                 [LIBS <target> ...]            linked PUBLIC (tests of the binding inherit them)
#                 [TEST_ONLY])                   built, but never registered in the shipped programs
#
# Called from core/bindings/<folder>/CMakeLists.txt: everything a binding needs to build is declared
# in its own folder. It declares the option BINDERY_WITH_<FOLDER> (ON), finds the dependencies, and
# when they are all there builds bindery_binding_<folder> with the folder's metadata.yaml embedded at
# :/bindings/<folder>/metadata.yaml. A missing dependency skips the binding with a status message.
# The binding's .cpp defines its registration with BINDERY_BINDING(<folder>, Input, Output)
# (core/binding_registry.h); core/bindings/CMakeLists.txt generates the calls.
set_property(GLOBAL PROPERTY BINDERY_BINDINGS "")
set_property(GLOBAL PROPERTY BINDERY_BINDING_FOLDERS "")

function(bindery_binding)
    cmake_parse_arguments(ARG "TEST_ONLY" "NAME" "SOURCES;PKG_CONFIG;FIND_PACKAGE;LIBS" ${ARGN})
    if(ARG_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "bindery_binding: unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT ARG_NAME MATCHES "^[a-z][a-z0-9_]*$")
        message(FATAL_ERROR "bindery_binding: NAME must be the folder name (lower case, _), not '${ARG_NAME}'")
    endif()
    string(TOUPPER "${ARG_NAME}" upper)
    set(option BINDERY_WITH_${upper})
    if(NOT ARG_TEST_ONLY)
        option(${option} "Build the ${ARG_NAME} binding" ON)
        if(NOT ${option})
            message(STATUS "Binding ${ARG_NAME}: off (${option}=OFF)")
            return()
        endif()
    endif()
    set(missing "")
    set(libs ${ARG_LIBS})
    foreach(module IN LISTS ARG_PKG_CONFIG)
        if(NOT TARGET PkgConfig::${module})
            pkg_check_modules(${module} QUIET IMPORTED_TARGET GLOBAL ${module})
        endif()
        if(TARGET PkgConfig::${module})
            list(APPEND libs PkgConfig::${module})
        else()
            list(APPEND missing "pkg-config module ${module}")
        endif()
    endforeach()
    foreach(package IN LISTS ARG_FIND_PACKAGE)
        find_package(${package} QUIET)
        if(NOT ${package}_FOUND)
            list(APPEND missing "package ${package}")
        endif()
    endforeach()
    if(missing)
        list(JOIN missing ", " why)
        message(STATUS "Binding ${ARG_NAME}: skipped, missing ${why} (see core/bindings/${ARG_NAME}/deps.apt)")
        return()
    endif()

    set(target bindery_binding_${ARG_NAME})
    add_library(${target} STATIC ${ARG_SOURCES})
    target_link_libraries(${target} PRIVATE bindery_options PUBLIC bindery_core ${libs})
    target_compile_definitions(${target} PRIVATE QT_NO_KEYWORDS)
    qt_add_resources(${target} "${ARG_NAME}_schema"
        PREFIX "/bindings/${ARG_NAME}" BASE ${CMAKE_CURRENT_SOURCE_DIR}
        FILES ${CMAKE_CURRENT_SOURCE_DIR}/metadata.yaml)
    if(NOT ARG_TEST_ONLY)
        set_property(GLOBAL APPEND PROPERTY BINDERY_BINDINGS ${target})
        set_property(GLOBAL APPEND PROPERTY BINDERY_BINDING_FOLDERS ${ARG_NAME})
    endif()
    message(STATUS "Binding ${ARG_NAME}: on")
endfunction()
