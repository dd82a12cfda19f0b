# Site profile: everything that differs between clusters, in one place. Every script in slurm/
# sources it (MPISEG_SITE_PROFILE names another file). Job scripts stay the same everywhere.
#
# Environment modules, where the site uses them (Debian nodes with the packages need none):
#   module load openmpi/4.1 hdf5/1.10-openmpi boost/1.74 eigen/3.4
#
# Values already set in the environment (e.g. by `sbatch --export`) win over these defaults.

# The checkout the jobs run in, and the mpiseg binary: jobs are submitted from the checkout.
export MPISEG_ROOT=${MPISEG_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}
export MPISEG_BIN=${MPISEG_BIN:-$MPISEG_ROOT/build/mpiseg}
# Python with h5py and matplotlib, for reports and sweep summaries.
export MPISEG_PYTHON=${MPISEG_PYTHON:-/usr/bin/python3}

# How ranks start. srun launches them directly through PMIx: Debian's Open MPI supports PMIx
# only (--mpi=pmi2 fails). mpirun inside the allocation is the alternative where srun's MPI
# plugins do not match the site's MPI; Open MPI reads the allocation from Slurm.
export MPISEG_LAUNCHER=${MPISEG_LAUNCHER:-srun}
export MPISEG_SRUN_MPI=${MPISEG_SRUN_MPI:-pmix}

# Idle ranks waiting in a collective yield the core instead of spinning (helps when a node is
# shared or oversubscribed; costs nothing measurable otherwise).
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
