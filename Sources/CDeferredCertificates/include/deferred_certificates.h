#ifndef TRUEUP_DEFERRED_CERTIFICATES_H
#define TRUEUP_DEFERRED_CERTIFICATES_H

/* libgit2's set-up without its eager parse of the system CA bundle (see deferred_certificates.c).
 * Returns what git_libgit2_init returns. Call once, before any other libgit2 function. */
int trueup_git_init_deferring_certificates(void);

/* The CA bundle libgit2 asked for during set-up and got later, or NULL: none was asked for
 * (libgit2 built without mbedTLS, or no bundle on this machine). */
const char *trueup_git_deferred_certificate_file(void);

/* Gives libgit2 the deferred CA bundle now, unless it has it already: call before anything that
 * may open an HTTPS connection. Returns 0 when nothing was deferred or the bundle is loaded, else
 * libgit2's error code (git_error_last() says why). Not thread-safe: call it from one thread at a
 * time. */
int trueup_git_load_deferred_certificates(void);

#endif
