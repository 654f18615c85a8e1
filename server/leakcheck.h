/*
 * Leak checking in sanitizer builds while the GL driver is still loaded.
 *
 * eglTerminate unloads Mesa's driver while it still holds process-lifetime blocks,
 * which LeakSanitizer would then report at exit with no stack to suppress them by.
 * Checking just before the backend goes, with the driver loaded, still finds every leak
 * of ours; LeakSanitizer then skips its check at exit. A no-op in other builds.
 */
#ifndef TESSERA_LEAKCHECK_H
#define TESSERA_LEAKCHECK_H

#include "sanitizer.h"

#ifdef TESSERA_HAVE_ASAN
#include <sanitizer/lsan_interface.h>
#endif

static inline void leak_check_now(void) {
#ifdef TESSERA_HAVE_ASAN
	__lsan_do_leak_check();
#endif
}

#endif
