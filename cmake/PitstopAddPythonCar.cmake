# pitstop_add_python_car(): packs a driver written in Python into a CAR.

# pitstop_add_python_car(TARGET <target> NAME <car-name> ROOT <dir>
#                        MAIN <module>[:<function>] SOURCES <file-or-folder>...
#                        [OUTPUT_DIR <dir>])
# Packs <output>/<car-name>.car with `python3 -m pitstop_driver pack`: the
# files under ROOT (META-INF/driver.yaml, META-INF/LICENSE, resources/...),
# each of SOURCES (a module file or a package folder) in lib/, the Python
# driver SDK (pitstop_driver) and the protocol code (pitstop.driver.v1) in
# lib/, and driver.yaml's entrypoint in bin/: a #!/usr/bin/python3 script
# that puts lib/ on sys.path and calls MAIN (default function main).
# OUTPUT_DIR as for pitstop_add_car().
#
# Where things come from, as variables:
#   PITSTOP_PYTHON3         the interpreter that packs (/usr/bin/python3)
#   PITSTOP_PYTHON_SDK_DIR  the folder holding pitstop_driver/ (this
#                           repository's driver-sdk/python); empty: the
#                           pitstop_driver installed with pip
#   PITSTOP_PROTO_DIR       the folder holding pitstop/driver/v1/*.proto,
#                           compiled with protoc and grpc_python_plugin;
#                           empty: the installed pitstop.driver.v1 is copied
#   PITSTOP_CAR_PACKER      `pitstop`, as for pitstop_add_car()
function(pitstop_add_python_car)
  cmake_parse_arguments(ARG "" "TARGET;NAME;ROOT;MAIN;OUTPUT_DIR" "SOURCES" ${ARGN})
  foreach(required TARGET NAME ROOT MAIN SOURCES)
    if(NOT ARG_${required})
      message(FATAL_ERROR "pitstop_add_python_car: ${required} is required")
    endif()
  endforeach()
  if(NOT PITSTOP_PYTHON3)
    message(FATAL_ERROR "pitstop_add_python_car: no python3 found "
                        "(set PITSTOP_PYTHON3, e.g. to /usr/bin/python3)")
  endif()
  _pitstop_car_paths("${ARG_NAME}" "${ARG_OUTPUT_DIR}" out stage
                     ARG_OUTPUT_DIR)

  file(GLOB_RECURSE inputs CONFIGURE_DEPENDS ${ARG_ROOT}/*)
  set(source_args)
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(source ${source} ABSOLUTE)
    list(APPEND source_args --source ${source})
    if(IS_DIRECTORY ${source})
      file(GLOB_RECURSE files CONFIGURE_DEPENDS ${source}/*.py)
      list(APPEND inputs ${files})
    else()
      list(APPEND inputs ${source})
    endif()
  endforeach()
  set(env_args)
  if(PITSTOP_PYTHON_SDK_DIR)
    set(env_args ${CMAKE_COMMAND} -E env PYTHONPATH=${PITSTOP_PYTHON_SDK_DIR})
    file(GLOB sdk_files CONFIGURE_DEPENDS ${PITSTOP_PYTHON_SDK_DIR}/pitstop_driver/*.py)
    list(APPEND inputs ${sdk_files})
  endif()
  set(proto_args)
  if(PITSTOP_PROTO_DIR)
    set(proto_args --proto-dir ${PITSTOP_PROTO_DIR})
    file(GLOB protos CONFIGURE_DEPENDS ${PITSTOP_PROTO_DIR}/pitstop/driver/v1/*.proto)
    list(APPEND inputs ${protos})
  endif()

  add_custom_command(
    OUTPUT ${out}
    COMMAND ${env_args} ${PITSTOP_PYTHON3} -B -m pitstop_driver pack
            --root ${ARG_ROOT} ${source_args} --main ${ARG_MAIN} ${proto_args}
            --pitstop ${PITSTOP_CAR_PACKER} --stage ${stage} -o ${out}
    DEPENDS ${inputs} ${PITSTOP_CAR_PACKER_TARGET}
    COMMENT "Packing ${ARG_NAME}.car (Python)"
    VERBATIM)
  add_custom_target(${ARG_TARGET} ALL DEPENDS ${out})
endfunction()
