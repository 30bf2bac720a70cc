# pitstop_add_car(): packs a driver and its files into a CAR.

# pitstop_add_car(TARGET <target> NAME <car-name> ROOT <dir>
#                 EXECUTABLES <exe-target>... [LIBRARIES <shared-lib>...]
#                 [OUTPUT_DIR <dir>])
# Packs a CAR into build/cars/<car-name>.car with `pitstop car pack`: the
# files under ROOT (META-INF/driver.yaml, META-INF/LICENSE, resources/...)
# plus each executable target copied into bin/ and each shared library into
# lib/ (under its soname; link the executables with RPATH $ORIGIN/../lib, as
# docs/vendor-guide.md says). OUTPUT_DIR puts the CAR elsewhere (default
# ${PITSTOP_CAR_DIR}: in this repository the directory the demo loads whole,
# for a vendor's project <build>/cars), e.g. for test-only drivers.
#
# `pitstop car pack` is ${PITSTOP_CAR_PACKER}: this build's pitstop in the
# repository, the installed /usr/bin/pitstop through
# find_package(PitstopDriverSdk).
# _pitstop_car_paths(<name> <output-dir-or-empty> <out-var> <stage-var>
#                    <dir-var>): the CAR's path, the folder it is staged in,
# and the folder it goes to (OUTPUT_DIR, else ${PITSTOP_CAR_DIR}, else
# <build>/cars); shared with pitstop_add_python_car().
function(_pitstop_car_paths name output_dir out_var stage_var dir_var)
  if(NOT output_dir)
    if(PITSTOP_CAR_DIR)
      set(output_dir ${PITSTOP_CAR_DIR})
    else()
      set(output_dir ${CMAKE_BINARY_DIR}/cars)
    endif()
  endif()
  set(${out_var} ${output_dir}/${name}.car PARENT_SCOPE)
  set(${stage_var} ${CMAKE_CURRENT_BINARY_DIR}/${name}-car PARENT_SCOPE)
  set(${dir_var} ${output_dir} PARENT_SCOPE)
endfunction()

function(pitstop_add_car)
  cmake_parse_arguments(ARG "" "TARGET;NAME;ROOT;OUTPUT_DIR"
                        "EXECUTABLES;LIBRARIES" ${ARGN})
  _pitstop_car_paths("${ARG_NAME}" "${ARG_OUTPUT_DIR}" out stage
                     ARG_OUTPUT_DIR)
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
    COMMAND ${PITSTOP_CAR_PACKER} car pack ${stage} -o ${out}
    DEPENDS ${root_files} ${ARG_EXECUTABLES} ${ARG_LIBRARIES}
            ${PITSTOP_CAR_PACKER_TARGET}
    COMMENT "Packing ${ARG_NAME}.car"
    VERBATIM)
  add_custom_target(${ARG_TARGET} ALL DEPENDS ${out})
endfunction()
