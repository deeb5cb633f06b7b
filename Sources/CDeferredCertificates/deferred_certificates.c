/* Deferring libgit2's parse of the system CA bundle until an HTTPS connection needs it.
 *
 * Debian builds libgit2 against mbedTLS, and git_libgit2_init() then parses every certificate of
 * /etc/ssl/certs/ca-certificates.crt (about 140 of them, 200 KiB of PEM): some 3 to 5 ms, a fifth of
 * what `trueup --version` costs and more than reading the specs of a small repository. Most
 * commands never open a network connection (validate, plan and diff read local repositories), and
 * libgit2 has no option to skip or postpone that parse: its options take effect only after
 * git_libgit2_init() has run.
 *
 * So the trueup executable defines mbedtls_x509_crt_parse_file itself (the executable comes first
 * in the dynamic loader's symbol lookup, so libgit2's call lands here; the release version script
 * exports it). While trueup_git_init_deferring_certificates() runs git_libgit2_init() on this
 * thread, the call only records the file and leaves the chain empty; every other call goes to
 * mbedTLS's own function. Before a clone or fetch, trueup_git_load_deferred_certificates() hands the
 * recorded file to libgit2 through GIT_OPT_SET_SSL_CERT_LOCATIONS, which parses it then.
 *
 * Fails closed: if the bundle were never loaded, an empty chain trusts no certificate, so an HTTPS
 * remote would be refused, never accepted unverified. Where libgit2 uses OpenSSL instead, nothing
 * here is ever called and set-up is libgit2's own.
 */
#define _GNU_SOURCE
#include "deferred_certificates.h"

#include <dlfcn.h>
#include <git2.h>
#include <limits.h>
#include <string.h>

/* Set only on the thread running git_libgit2_init() inside trueup_git_init_deferring_certificates(). */
static __thread int deferring_on_this_thread = 0;
/* Written during set-up, before any caller can ask for it; read-only after it. */
static char deferred_file[PATH_MAX];
static int has_deferred_file = 0;
static int deferred_file_loaded = 0;

typedef int (*parse_file_function)(void *chain, const char *path);

/* mbedTLS: int mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *path). The chain
 * is opaque here: only mbedTLS touches it. */
__attribute__((visibility("default")))
int mbedtls_x509_crt_parse_file(void *chain, const char *path) {
    if (deferring_on_this_thread && path != NULL && strlen(path) < sizeof(deferred_file)) {
        strcpy(deferred_file, path);
        has_deferred_file = 1;
        return 0; /* success, with an empty chain: see "Fails closed" above */
    }
    parse_file_function parse = (parse_file_function)dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file");
    if (parse == NULL) {
        return -0x2900; /* MBEDTLS_ERR_X509_FILE_IO_ERROR: no mbedTLS behind us to do the work */
    }
    return parse(chain, path);
}

int trueup_git_init_deferring_certificates(void) {
    deferring_on_this_thread = 1;
    int result = git_libgit2_init();
    deferring_on_this_thread = 0;
    return result;
}

const char *trueup_git_deferred_certificate_file(void) {
    return has_deferred_file ? deferred_file : NULL;
}

int trueup_git_load_deferred_certificates(void) {
    if (!has_deferred_file || deferred_file_loaded) {
        return 0;
    }
    int result = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, deferred_file, NULL);
    if (result == 0) {
        deferred_file_loaded = 1;
    }
    return result;
}
