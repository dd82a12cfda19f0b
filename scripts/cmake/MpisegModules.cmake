# mpiseg_add_module(NAME SOURCES ... DEPENDS ... [PRIVATE_DEPENDS ...] [KEYS])
#
# Declares the static library mpiseg_NAME built from src/NAME/*.cpp with the public headers in
# include/mpiseg/NAME/. DEPENDS are public (a header of this module includes theirs);
# PRIVATE_DEPENDS stay inside the module (comm uses them to keep MPI out of every other header).
# KEYS: the module declares job-file keys in src/NAME/keys.toml (see KeyTable in core/config.hpp);
# its sources read it through module_keys() of "keys_toml.hpp", regenerated whenever keys.toml
# changes.
#
# mpiseg_check_module_includes(), called once after the last module, enforces the module order:
# a module's sources and headers may include `mpiseg/X/...` only for X itself or a module it
# depends on (directly or through its dependencies); anything else stops the configuration with
# the file and the include named. Every include directive is read at configure time, and a change
# to any module file reconfigures, so the check cannot go stale. Cycles cannot build either
# (GLOBAL_DEPENDS_NO_CYCLES).
set_property(GLOBAL PROPERTY GLOBAL_DEPENDS_NO_CYCLES ON)

function(mpiseg_add_module name)
  cmake_parse_arguments(ARG "KEYS" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(mpiseg_${name} STATIC ${ARG_SOURCES})
  target_include_directories(mpiseg_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  if(ARG_KEYS)
    mpiseg_compile_in_keys(${name})
  endif()
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

# The module's keys.toml as a raw string literal in a generated header private to the module.
function(mpiseg_compile_in_keys name)
  set(keys_file ${PROJECT_SOURCE_DIR}/src/${name}/keys.toml)
  set(generated ${PROJECT_BINARY_DIR}/generated/${name})
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${keys_file})
  file(READ ${keys_file} KEYS_TOML)
  if(KEYS_TOML MATCHES "\\)keys_toml\"")
    message(FATAL_ERROR "${keys_file} contains the raw-string delimiter )keys_toml\"")
  endif()
  file(CONFIGURE OUTPUT ${generated}/keys_toml.hpp @ONLY CONTENT
"#pragma once
// Generated from src/${name}/keys.toml by mpiseg_add_module (scripts/cmake/MpisegModules.cmake): edit that file.
#include \"mpiseg/core/config.hpp\"
namespace {
// The module's job-file keys, parsed at first use.
[[maybe_unused]] const mpiseg::KeyTable& module_keys() {
  static const mpiseg::KeyTable table(R\"keys_toml(@KEYS_TOML@)keys_toml\", \"src/${name}/keys.toml\");
  return table;
}
}  // namespace
")
  target_include_directories(mpiseg_${name} PRIVATE ${generated})
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
