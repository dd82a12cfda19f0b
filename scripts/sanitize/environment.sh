# Sourced by scripts/fuzz.sh and scripts/test.sh for sanitized runs: every finding stops the
# program (a test fails), stacks are printed, and the leak check ignores what Open MPI and HDF5
# keep until exit (lsan.supp, each entry explained there).
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitize/lsan.supp:print_suppressions=0"
# MPI tests run without the leak check: Open MPI's dlopened components leave allocations at
# MPI_Finalize whose stacks end in unloaded modules ("<unknown module>"), which no suppression
# can name. Address and undefined-behaviour errors still stop them.
asan_without_leak_check="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}"
