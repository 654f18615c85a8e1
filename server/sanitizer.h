/*
 * Whether this build runs under AddressSanitizer (and so LeakSanitizer): GCC says so
 * with __SANITIZE_ADDRESS__, clang through __has_feature.
 */
#ifndef TESSERA_SANITIZER_H
#define TESSERA_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define TESSERA_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESSERA_HAVE_ASAN 1
#endif
#endif

#endif
