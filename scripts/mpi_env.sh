# Sourced by the scripts that launch MPI jobs on this machine (tests, demo, benchmarks).
# Ranks that outnumber cores must yield when idle, or busy-polling collectives crawl.
export OMPI_MCA_mpi_yield_when_idle=1
# Open MPI refuses to run as root unless told that this is intended (containers, CI).
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
