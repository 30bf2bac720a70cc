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

# pitstop_add_car(TARGET <target> NAME <car-name> ROOT <dir>
#                 EXECUTABLES <exe-target>... [LIBRARIES <shared-lib>...]
#                 [OUTPUT_DIR <dir>])
# Packs a CAR into build/cars/<car-name>.car with `pitstop car pack`: the
# files under ROOT (META-INF/driver.yaml, META-INF/LICENSE, resources/...)
# plus each executable target copied into bin/ and each shared library into
# lib/ (under its soname; link the executables with RPATH $ORIGIN/../lib, as
# docs/vendor-guide.md says). OUTPUT_DIR puts the CAR
# elsewhere (default ${PITSTOP_CAR_DIR}, the directory the demo loads whole),
# e.g. for test-only drivers.
function(pitstop_add_car)
  cmake_parse_arguments(ARG "" "TARGET;NAME;ROOT;OUTPUT_DIR"
                        "EXECUTABLES;LIBRARIES" ${ARGN})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${PITSTOP_CAR_DIR})
  endif()
  set(stage ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}-car)
  set(out ${ARG_OUTPUT_DIR}/${ARG_NAME}.car)
  file(GLOB_RECURSE root_files CONFIGURE_DEPENDS ${ARG_ROOT}/*)
  set(copy_exes)
  foreach(exe IN LISTS ARG_EXECUTABLES)
    list(APPEND copy_exes COMMAND ${CMAKE_COMMAND} -E copy
         $<TARGET_FILE:${exe}> ${stage}/bin/)
  endforeach()
  # Shared libraries go to lib/ under their soname file name; executables
  # find them with RPATH $ORIGIN/../lib.
  foreach(lib IN LISTS ARG_LIBRARIES)
    list(APPEND copy_exes COMMAND ${CMAKE_COMMAND} -E make_directory
         ${stage}/lib COMMAND ${CMAKE_COMMAND} -E copy
         $<TARGET_SONAME_FILE:${lib}> ${stage}/lib/)
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage}
    COMMAND ${CMAKE_COMMAND} -E copy_directory ${ARG_ROOT} ${stage}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}/bin ${ARG_OUTPUT_DIR}
    ${copy_exes}
    COMMAND $<TARGET_FILE:pitstop> car pack ${stage} -o ${out}
    DEPENDS ${root_files} ${ARG_EXECUTABLES} ${ARG_LIBRARIES} pitstop
    COMMENT "Packing ${ARG_NAME}.car"
    VERBATIM)
  add_custom_target(${ARG_TARGET} ALL DEPENDS ${out})
endfunction()
