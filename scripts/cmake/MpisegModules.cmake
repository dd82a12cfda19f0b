# mpiseg_add_module(NAME SOURCES ... DEPENDS ... [PRIVATE_DEPENDS ...])
#
# Declares the static library mpiseg_NAME built from src/NAME/*.cpp with the public headers in
# include/mpiseg/NAME/. DEPENDS are public (a header of this module includes theirs);
# PRIVATE_DEPENDS stay inside the module (comm uses them to keep MPI out of every other header).
#
# mpiseg_check_module_includes(), called once after the last module, enforces the module order:
# a module's sources and headers may include `mpiseg/X/...` only for X itself or a module it
# depends on (directly or through its dependencies); anything else stops the configuration with
# the file and the include named. Every include directive is read at configure time, and a change
# to any module file reconfigures, so the check cannot go stale. Cycles cannot build either
# (GLOBAL_DEPENDS_NO_CYCLES).
set_property(GLOBAL PROPERTY GLOBAL_DEPENDS_NO_CYCLES ON)

function(mpiseg_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(mpiseg_${name} STATIC ${ARG_SOURCES})
  target_include_directories(mpiseg_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(mpiseg_${name} PUBLIC ${ARG_DEPENDS} mpiseg_options PRIVATE ${ARG_PRIVATE_DEPENDS})
  set(modules "")
  foreach(dependency IN LISTS ARG_DEPENDS)
    if(dependency MATCHES "^mpiseg_(.+)$")
      list(APPEND modules ${CMAKE_MATCH_1})
    endif()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY MPISEG_MODULES ${name})
  set_property(GLOBAL PROPERTY MPISEG_MODULE_DEPENDS_${name} "${modules}")
  set_property(GLOBAL PROPERTY MPISEG_MODULE_SOURCES_${name} "${ARG_SOURCES}")
endfunction()

function(mpiseg_check_module_includes)
  get_property(modules GLOBAL PROPERTY MPISEG_MODULES)
  set(violations "")
  foreach(name IN LISTS modules)
    # The modules `name` may use: itself and everything it depends on, transitively.
    set(allowed ${name})
    set(queue ${name})
    while(queue)
      list(POP_FRONT queue module)
      get_property(direct GLOBAL PROPERTY MPISEG_MODULE_DEPENDS_${module})
      foreach(dependency IN LISTS direct)
        if(NOT dependency IN_LIST allowed)
          list(APPEND allowed ${dependency})
          list(APPEND queue ${dependency})
        endif()
      endforeach()
    endwhile()
    get_property(sources GLOBAL PROPERTY MPISEG_MODULE_SOURCES_${name})
    file(GLOB headers ${PROJECT_SOURCE_DIR}/include/mpiseg/${name}/*.hpp)
    foreach(file IN LISTS sources headers)
      if(NOT IS_ABSOLUTE "${file}")
        set(file ${PROJECT_SOURCE_DIR}/${file})
      endif()
      if(NOT EXISTS "${file}")
        continue()  # generated at build time (the git revision)
      endif()
      set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
      file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"mpiseg/[a-z0-9_]+/")
      foreach(line IN LISTS includes)
        string(REGEX MATCH "mpiseg/([a-z0-9_]+)/" ignored "${line}")
        if(NOT CMAKE_MATCH_1 IN_LIST allowed)
          file(RELATIVE_PATH shown ${PROJECT_SOURCE_DIR} ${file})
          list(APPEND violations "  ${shown}: ${line} (module ${name} depends on: ${allowed})")
        endif()
      endforeach()
    endforeach()
  endforeach()
  if(violations)
    list(JOIN violations "\n" text)
    message(FATAL_ERROR "includes across the module order (add the dependency in CMakeLists.txt or move the code):\n${text}")
  endif()
endfunction()
