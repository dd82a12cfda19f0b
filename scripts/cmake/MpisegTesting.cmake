# Test registration helpers.
#
# mpiseg_add_unit_test(NAME SOURCES ... LIBS ...)
#   A Boost.Test executable run once, without mpiexec (algorithms use the serial communicator).
#
# mpiseg_add_mpi_test(NAME SOURCES ... LIBS ... [RANKS 1 2 3 4] [TIMEOUT s] [LABELS ...])
#   A Boost.Test executable with the global MPI fixture, registered as NAME.np1, NAME.np2, ...
#   through MPIEXEC_EXECUTABLE / MPIEXEC_NUMPROC_FLAG / MPIEXEC_PREFLAGS. PROCESSORS tells ctest
#   how many slots each instance occupies so `ctest -j` does not pile 4-rank jobs on 2 cores.

if(NOT DEFINED MPISEG_MPIEXEC_PREFLAGS)
  # Open MPI refuses to start more ranks than cores without --oversubscribe; CI has 2 cores.
  set(MPISEG_MPIEXEC_PREFLAGS --oversubscribe)
endif()

# Ranks that outnumber cores must yield when idle or busy-polling collectives crawl
# (measured: 1000 small allreduces 17 s instead of 0.01 s on 2 cores with 4 ranks).
set(MPISEG_TEST_ENVIRONMENT OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_rmaps_base_oversubscribe=1)

function(mpiseg_add_unit_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} Boost::unit_test_framework mpiseg_options)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                       ENVIRONMENT "${MPISEG_TEST_ENVIRONMENT}")
endfunction()

function(mpiseg_add_mpi_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;RANKS;LABELS" ${ARGN})
  if(NOT ARG_RANKS)
    set(ARG_RANKS 1 2 3 4)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} mpiseg_test_mpi_main mpiseg_options)
  foreach(np IN LISTS ARG_RANKS)
    add_test(NAME ${name}.np${np}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPISEG_MPIEXEC_PREFLAGS}
                     ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}.np${np} PROPERTIES PROCESSORS ${np} LABELS "mpi;${ARG_LABELS}"
                         TIMEOUT ${ARG_TIMEOUT} ENVIRONMENT "${MPISEG_TEST_ENVIRONMENT}")
  endforeach()
endfunction()
