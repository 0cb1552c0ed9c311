#ifndef IMG2VID_CDNNL_SHIM_H
#define IMG2VID_CDNNL_SHIM_H
/* oneDNN 2.6 (Debian libdnnl-dev), C API. Built on the GNU OpenMP runtime (libgomp). */
#include <dnnl.h>
/* libgomp, which libdnnl links: per-thread team size for oneDNN calls made on worker threads. */
extern void omp_set_num_threads(int num_threads);
extern int omp_get_max_threads(void);
#endif
