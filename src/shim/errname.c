/* errno's symbolic name ("EPERM"): what mini's errors show. glibc has strerrorname_np; musl,
 * which the shim is built with when it is installed (a tenth of the size), does not. */
#include "shim.h"

const char *errno_name(int e) {
  switch (e) {
#define N(x) case x: return #x;
    N(EPERM) N(ENOENT) N(ESRCH) N(EINTR) N(EIO) N(ENXIO) N(E2BIG) N(ENOEXEC) N(EBADF) N(ECHILD)
    N(EAGAIN) N(ENOMEM) N(EACCES) N(EFAULT) N(EBUSY) N(EEXIST) N(EXDEV) N(ENODEV) N(ENOTDIR)
    N(EISDIR) N(EINVAL) N(ENFILE) N(EMFILE) N(ENOTTY) N(ETXTBSY) N(EFBIG) N(ENOSPC) N(ESPIPE)
    N(EROFS) N(EMLINK) N(EPIPE) N(ERANGE) N(ENAMETOOLONG) N(ENOSYS) N(ENOTEMPTY) N(ELOOP)
    N(EOPNOTSUPP) N(ECONNREFUSED) N(ENOTSOCK) N(EUSERS) N(EDQUOT) N(ESTALE) N(ETIMEDOUT)
#undef N
    default: return NULL;
  }
}
