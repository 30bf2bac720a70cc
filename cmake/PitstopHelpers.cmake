# Warnings for the project's own targets. Clang also checks the Abseil
# thread-safety annotations and treats a violation as an error.
function(pitstop_warnings target)
  # Aggregates with default member initializers are meant to be
  # initialized in part, so -Wmissing-field-initializers is only noise.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter
                                           -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety
                                             -Werror=thread-safety)
  endif()
endfunction()

# pitstop_test(NAME SRCS a_test.cc ... DEPS lib ...)
# Builds a Catch2 test executable and registers its test cases with CTest.
function(pitstop_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE pitstop_catch_main ${ARG_DEPS})
  pitstop_warnings(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                                           ${CMAKE_BINARY_DIR}/tests)
  catch_discover_tests(${name} PROPERTIES TIMEOUT 120)
endfunction()

# pitstop_add_car(): cmake/PitstopAddCar.cmake, shared with the installed
# SDK's CMake package; here it packs with this build's pitstop.
set(PITSTOP_CAR_PACKER $<TARGET_FILE:pitstop>)
set(PITSTOP_CAR_PACKER_TARGET pitstop)
include(${CMAKE_CURRENT_LIST_DIR}/PitstopAddCar.cmake)

# pitstop_add_python_car(): cmake/PitstopAddPythonCar.cmake, with this
# repository's Python SDK and proto/.
find_program(PITSTOP_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
set(PITSTOP_PYTHON_SDK_DIR ${PROJECT_SOURCE_DIR}/driver-sdk/python)
set(PITSTOP_PROTO_DIR ${PROJECT_SOURCE_DIR}/proto)
include(${CMAKE_CURRENT_LIST_DIR}/PitstopAddPythonCar.cmake)
