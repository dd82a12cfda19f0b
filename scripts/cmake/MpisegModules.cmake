# mpiseg_add_module(NAME SOURCES ... DEPENDS ... [PRIVATE_DEPENDS ...])
#
# Declares the static library mpiseg_NAME built from src/NAME/*.cpp with the public headers in
# include/mpiseg/NAME/. DEPENDS are public (a header of this module includes theirs);
# PRIVATE_DEPENDS stay inside the module (comm uses them to keep MPI out of every other header).
function(mpiseg_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(mpiseg_${name} STATIC ${ARG_SOURCES})
  target_include_directories(mpiseg_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(mpiseg_${name} PUBLIC ${ARG_DEPENDS} mpiseg_options PRIVATE ${ARG_PRIVATE_DEPENDS})
endfunction()
