/* Links against lrmlp::mpi: the add-on loaded is the one whose header was
 * compiled in. Needs no MPI_Init. */
#include <lrmlp_mpi.h>

#include <stdio.h>

int main(void)
{
    int v = lrmlp_mpi_version_number();
    printf("lrmlp_mpi %d (header %d)\n", v, LRMLP_MPI_VERSION_NUMBER);
    return v == LRMLP_MPI_VERSION_NUMBER ? 0 : 1;
}
