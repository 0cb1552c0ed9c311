#ifndef IMG2VID_CDNNL_SHIM_H
#define IMG2VID_CDNNL_SHIM_H
/* oneDNN 2.6 (Debian libdnnl-dev), C API. Built on the GNU OpenMP runtime (libgomp). */
#include <dnnl.h>
#endif
