# SPDX-License-Identifier: Apache-2.0
# bindery_options: warnings and Qt strictness shared by every Bindery target.
add_library(bindery_options INTERFACE)
target_compile_options(bindery_options INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Woverloaded-virtual -Wnon-virtual-dtor)
if(BINDERY_WERROR)
    target_compile_options(bindery_options INTERFACE -Werror)
endif()
target_compile_definitions(bindery_options INTERFACE
    QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_CAST_FROM_BYTEARRAY
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT QT_NO_URL_CAST_FROM_STRING
    QT_USE_QSTRINGBUILDER)
target_include_directories(bindery_options INTERFACE ${PROJECT_SOURCE_DIR})

# yaml-cpp 0.7 (Debian 12) exports "yaml-cpp", 0.8 exports "yaml-cpp::yaml-cpp".
if(TARGET yaml-cpp::yaml-cpp)
    set(BINDERY_YAML_TARGET yaml-cpp::yaml-cpp)
else()
    set(BINDERY_YAML_TARGET yaml-cpp)
endif()
