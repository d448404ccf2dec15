/* Links against the MPI add-on and checks that the add-on loaded is the one
 * whose header was compiled in (needs no MPI_Init). Built by the CMake
 * consumer through lrmlp::mpi, and by tests/consumer.sh with
 *   cc mpi_version.c $(pkg-config --cflags --libs lrmlp-mpi) -o mpi_version
 */
#include <lrmlp_mpi.h>

#include <stdio.h>

int main(void)
{
    int v = lrmlp_mpi_version_number();
    printf("lrmlp_mpi %d (header %d)\n", v, LRMLP_MPI_VERSION_NUMBER);
    return v == LRMLP_MPI_VERSION_NUMBER ? 0 : 1;
}
