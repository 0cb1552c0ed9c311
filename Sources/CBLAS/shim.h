#ifndef IMG2VID_CBLAS_SHIM_H
#define IMG2VID_CBLAS_SHIM_H
#include <cblas.h>
/* Declared by OpenBLAS itself; repeated here so that builds against headers that hide them still see them. */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);
#endif
